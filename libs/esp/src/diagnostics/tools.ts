import type { DiagnosticTool } from '@aegis/protocol';
import { baseName } from './location.js';

const CXX_EXT = /\.(?:cpp|cc|cxx|c\+\+|cp|hpp|hh|hxx|h\+\+|ipp|tcc|txx)$/i;

/** Which tool reports problems in this file: Kconfig files → kconfig, CMake files → cmake, C++ sources → g++… */
export function toolForFile(file: string, lang: 'gcc' | 'g++'): DiagnosticTool {
  const base = baseName(file).toLowerCase();
  if (base.startsWith('kconfig') || base.startsWith('sdkconfig') || base.endsWith('.projbuild')) return 'kconfig';
  if (base === 'cmakelists.txt' || base.endsWith('.cmake')) return 'cmake';
  if (base === 'makefile' || base === 'gnumakefile' || base.endsWith('.mk')) return 'make';
  if (base.endsWith('.py')) return 'python';
  if (base === 'idf_component.yml' || base === 'dependencies.lock') return 'component-manager';
  if (base.endsWith('.ld') || base.endsWith('.lf')) return 'ld';
  if (CXX_EXT.test(base)) return 'g++';
  if (base.endsWith('.c')) return 'gcc';
  // libstdc++ headers have no extension (<vector>); a .h takes the language of the unit being compiled.
  if (!base.includes('.') && /[\\/]c\+\+[\\/]/.test(file)) return 'g++';
  return lang;
}

/** gcc's own programs as they name themselves: `riscv32-esp-elf-gcc`, `cc1plus`, `collect2.exe`, `lto-wrapper`… */
export function gccProgram(token: string, lang: 'gcc' | 'g++'): DiagnosticTool | undefined {
  const base = baseName(token)
    .toLowerCase()
    .replace(/\.exe$/, '');
  if (base === 'cc1plus' || base.endsWith('g++') || base.endsWith('c++')) return 'g++';
  if (base === 'cc1' || base === 'lto1' || base === 'lto-wrapper' || base === 'cpp' || base === 'as') return 'gcc';
  if (base === 'collect2') return lang;
  if (base.endsWith('-as') || base === 'gcc' || base.endsWith('-gcc') || /-gcc-\d+(?:\.\d+)*$/.test(base)) return 'gcc';
  return undefined;
}

/** Whether a program name is GNU ld: `ld`, `ld.bfd`, `.../bin/ld`, `riscv32-esp-elf-ld`, `ld.exe`. */
export function isLinkerProgram(token: string): boolean {
  const base = baseName(token)
    .toLowerCase()
    .replace(/\.exe$/, '')
    .replace(/\.(?:bfd|gold|lld)$/, '');
  return base === 'ld' || base.endsWith('-ld');
}
