import { EspFormatError } from '../src/index.js';

/** The `code` of the EspFormatError `fn` throws (undefined when it returns); any other error is rethrown. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof EspFormatError) return e.code;
    throw e;
  }
  return undefined;
}

/** codeOf for a promise-returning `fn`. */
export async function codeOfAsync(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof EspFormatError) return e.code;
    throw e;
  }
  return undefined;
}
