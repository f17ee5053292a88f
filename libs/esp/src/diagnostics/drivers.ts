import { emit, type ParseState } from './types.js';

const IDF_STEP_FAILED = /^[\w.+-]+ failed with exit code \[?-?\d+/; // older idf.py: `code [1]`
/** `make`, `gmake`, `mingw32-make.exe`, with the `[2]` of a sub-make. */
const MAKE = /^(?:[\w.]+-)?g?make(?:\.exe)?(?:\[\d+\])?: /;

/**
 * The build drivers' own lines: ninja (`build stopped`, `error:`), idf.py (`ninja failed with exit code 1`), CMake's
 * `-- Configuring incomplete`, GNU make (`*** [...] Error 1`, `*** No rule to make target`).
 */
export function parseDriver(s: string, i: number, state: ParseState): number {
  if (s.startsWith('ninja: ')) {
    const r = s.slice(7);
    if (r.startsWith('build stopped:')) emit(state, i, { severity: 'error', message: s, tool: 'ninja', summary: true });
    else if (r.startsWith('error: ')) {
      // `rebuilding 'build.ninja': subcommand failed` repeats CMake's failure above it.
      const summary = r.endsWith('subcommand failed');
      emit(state, i, { severity: 'error', message: r.slice(7), tool: 'ninja', ...(summary ? { summary } : {}) });
    } else if (r.startsWith('warning: ')) emit(state, i, { severity: 'warning', message: r.slice(9), tool: 'ninja' });
    else if (r.startsWith('fatal: ')) emit(state, i, { severity: 'fatal', message: r.slice(7), tool: 'ninja' });
    else return 0;
    return 1;
  }
  if (IDF_STEP_FAILED.test(s)) {
    emit(state, i, { severity: 'error', message: s, tool: 'idf.py', summary: true });
    return 1;
  }
  if (s.startsWith('-- Configuring incomplete, errors occurred')) {
    emit(state, i, { severity: 'error', message: s.slice(3), tool: 'cmake', summary: true });
    return 1;
  }
  const mk = MAKE.exec(s);
  if (mk) {
    const r = s.slice(mk[0].length);
    if (r.startsWith('*** ')) {
      const summary = /\] error \d+/i.test(r) || /error \d+$/i.test(r);
      if (r.endsWith('(ignored)')) return 1;
      emit(state, i, { severity: 'error', message: r.slice(4), tool: 'make', ...(summary ? { summary } : {}) });
      return 1;
    }
    if (r.startsWith('warning: ')) {
      emit(state, i, { severity: 'warning', message: r.slice(9), tool: 'make' });
      return 1;
    }
    return 0;
  }
  return 0;
}
