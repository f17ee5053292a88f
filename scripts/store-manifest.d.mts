export const KNOWN_TARGETS: readonly string[];
export interface AddVersionOptions {
  store: string;
  version: string;
  path?: string;
  targets: string[];
  commit?: string;
  default?: boolean;
  toolDirs?: string[];
}
export function findTools(root: string, dirs: string[]): Promise<Array<{ name: string; path: string; sha256: string }>>;
/** Adds or replaces one IDF version in `<store>/manifest.json` (atomic write). */
export function addVersion(opts: AddVersionOptions): Promise<{ v: 1; versions: unknown[] }>;
