'use client';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, indentOnInput, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import { useEffect, useRef } from 'react';
import { editorHighlight, editorTheme } from './editor-theme';
import { languageExtension, languageOf } from './languages';

export interface CodeEditorProps {
  /** The file's path: picks the highlighting and names the editor for screen readers. */
  path: string;
  /** The text the editor starts with; later changes of this prop are ignored (remount with a new `key`). */
  initial: string;
  onChange(text: string): void;
  readOnly?: boolean;
}

/**
 * CodeMirror 6 with what editing firmware sources needs: line numbers, undo history, bracket matching,
 * auto-indent, Tab to indent (Escape then Tab leaves the editor), and C/C++, CMake, Kconfig, sdkconfig and TOML
 * highlighting.
 */
export function CodeEditor({ path, initial, onChange, readOnly = false }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const changed = useRef(onChange);
  useEffect(() => {
    changed.current = onChange;
  }, [onChange]);

  useEffect(() => {
    const view = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: initial,
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightSpecialChars(),
          history(),
          drawSelection(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          // Long lines wrap: no sideways scrolling in a panel, and it reads on a phone.
          EditorView.lineWrapping,
          indentUnit.of('    '),
          EditorState.tabSize.of(4),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          syntaxHighlighting(editorHighlight),
          languageExtension(languageOf(path)),
          editorTheme,
          EditorState.readOnly.of(readOnly),
          EditorView.contentAttributes.of({ 'aria-label': `Contents of ${path}` }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) changed.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.destroy();
    // One editor per file: the parent remounts it (key) for another file or a reset.
  }, []);

  return (
    <div
      ref={host}
      className="code-editor"
      data-testid="code-editor"
      data-language={languageOf(path)}
      style={{ height: 'min(65vh, 640px)', minHeight: 280 }}
    />
  );
}
