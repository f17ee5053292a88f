import { EspctlError } from '../errors.js';

/**
 * The parsers live in libs/esp (browser-safe, shared with the dashboard). They are loaded lazily so this
 * package still builds while they are being written; a missing parser is a clear tool error.
 */
type ParseSizeReport = (json: unknown) => unknown;
type ParseBuildDiagnostics = (log: string) => unknown;

async function load<T>(spec: string, name: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch {
    throw new EspctlError('parser_unavailable', `The ${name} parser (${spec}) is not available in this espctl build.`);
  }
  const fn = mod[name];
  if (typeof fn !== 'function') throw new EspctlError('parser_unavailable', `${spec} does not export ${name}.`);
  return fn as T;
}

// Kept in variables so the compiler does not require the modules to exist yet.
const SIZE_REPORT = '@aegis/esp/size-report';
const BUILD_DIAGNOSTICS = '@aegis/esp/build-diagnostics';

export async function parseSizeReport(json: unknown): Promise<unknown> {
  return (await load<ParseSizeReport>(SIZE_REPORT, 'parseSizeReport'))(json);
}

export async function parseBuildDiagnostics(log: string): Promise<unknown> {
  return (await load<ParseBuildDiagnostics>(BUILD_DIAGNOSTICS, 'parseBuildDiagnostics'))(log);
}
