import { cpp } from '@codemirror/lang-cpp';
import { StreamLanguage, type LanguageSupport } from '@codemirror/language';
import { cmake } from '@codemirror/legacy-modes/mode/cmake';
import { properties } from '@codemirror/legacy-modes/mode/properties';
import { toml } from '@codemirror/legacy-modes/mode/toml';
import type { Extension } from '@codemirror/state';
import { kconfig } from './kconfig';

export type EditorLanguage = 'cpp' | 'cmake' | 'kconfig' | 'sdkconfig' | 'toml' | 'text';

/** Which highlighting a project file gets, by its name (ESP-IDF's conventions). */
export function languageOf(path: string): EditorLanguage {
  const name = path.split('/').pop() ?? path;
  if (/\.(c|h|cc|cpp|cxx|hh|hpp|hxx|inc|ino|S)$/.test(name)) return 'cpp';
  if (name === 'CMakeLists.txt' || name.endsWith('.cmake')) return 'cmake';
  if (/^Kconfig(\..+)?$/.test(name)) return 'kconfig';
  if (/^sdkconfig(\..+)?$/.test(name)) return 'sdkconfig';
  if (name.endsWith('.toml')) return 'toml';
  return 'text';
}

const streams = {
  cmake: StreamLanguage.define(cmake),
  kconfig: StreamLanguage.define(kconfig),
  sdkconfig: StreamLanguage.define(properties),
  toml: StreamLanguage.define(toml),
};
let cppSupport: LanguageSupport | null = null;

export function languageExtension(lang: EditorLanguage): Extension {
  if (lang === 'cpp') return (cppSupport ??= cpp());
  if (lang === 'text') return [];
  return streams[lang];
}

export const LANGUAGE_LABEL: Record<EditorLanguage, string> = {
  cpp: 'C/C++',
  cmake: 'CMake',
  kconfig: 'Kconfig',
  sdkconfig: 'sdkconfig',
  toml: 'TOML',
  text: 'Plain text',
};
