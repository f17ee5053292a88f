import { HighlightStyle } from '@codemirror/language';
import { EditorView } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';

/**
 * The editor in the dashboard's colours (its CSS variables, so it follows light and dark mode), and syntax colours
 * that read on both backgrounds.
 */
export const editorTheme = EditorView.theme({
  '&': {
    border: '1px solid var(--line)',
    borderRadius: '6px',
    fontSize: '13px',
    background: 'var(--panel)',
    color: 'var(--text)',
    height: '100%',
  },
  '&.cm-focused': { outline: '2px solid var(--focus)', outlineOffset: '1px' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5', overflow: 'auto' },
  '.cm-content': { caretColor: 'var(--text)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '.cm-gutters': { background: 'var(--panel)', color: 'var(--muted)', borderRight: '1px solid var(--line)' },
  '.cm-activeLine, .cm-activeLineGutter': { background: 'color-mix(in srgb, var(--accent) 8%, transparent)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground': {
    background: 'color-mix(in srgb, var(--accent) 28%, transparent)',
  },
  '.cm-matchingBracket': { outline: '1px solid var(--muted)' },
});

export const editorHighlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.moduleKeyword, t.operatorKeyword], color: '#a04fb8' },
  { tag: [t.processingInstruction, t.meta], color: '#d0553f' },
  { tag: [t.string, t.special(t.string), t.character], color: '#3f9a45' },
  { tag: [t.number, t.bool, t.atom], color: '#c27c0e' },
  { tag: [t.typeName, t.standard(t.typeName)], color: '#1f8fb8' },
  { tag: [t.definition(t.variableName), t.function(t.variableName), t.macroName], color: 'var(--accent)' },
  { tag: [t.comment, t.lineComment, t.blockComment], color: 'var(--muted)', fontStyle: 'italic' },
  { tag: t.invalid, color: 'var(--bad)' },
]);
