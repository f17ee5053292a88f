import type { StoreManifest } from '@aegis/protocol';

export const TEST_TOOLCHAIN_VERSION: string;
export const TEST_TOOLCHAIN_TARGETS: string[];
/** Path of Debian's riscv64-unknown-elf-gcc, or undefined when it is not installed. */
export function findTestCompiler(searchPath?: string): string | undefined;
/** Creates or refreshes the TEST TOOLCHAIN store at `dir` (default `<repo>/.test-store`). */
export function makeTestStore(
  dir?: string,
  opts?: { version?: string; log?: (msg: string) => void; force?: boolean },
): Promise<{ root: string; manifest: StoreManifest }>;
