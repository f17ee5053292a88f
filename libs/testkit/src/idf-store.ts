import path from 'node:path';
import { ensureIdfStore, testStoreDir } from '../../../scripts/idf-store.mjs';

/**
 * The real ESP-IDF v5.1.6 store every build test uses: `npm test` provisions it once from the kit and passes it in
 * AEGIS_TEST_STORE; a test file run on its own provisions it here (serialised, about a second when up to date).
 * Throws with what to do when the kit is missing.
 */
export function realIdfStore(): string {
  return process.env.AEGIS_TEST_STORE ?? ensureIdfStore(testStoreDir(), { quiet: true });
}

/**
 * One compiler cache for every test machine of a run (and the next run): `npm test` builds hello_world some twenty
 * times in separate machines, and only the first build per target needs to compile ESP-IDF. Test users are made
 * afresh by every suite, so the machines share one cache for all users (scope `machine`); the per-user default has
 * tests of its own (apps/machine/test/build/compiler-cache.spec.ts).
 */
export function testCompilerCacheDir(): string {
  return path.join(path.dirname(process.env.AEGIS_TEST_STORE ?? testStoreDir()), 'ccache');
}

/** The environment that gives a spawned test machine that cache (testCompilerCacheDir). */
export function testCompilerCacheEnv(): Record<string, string> {
  return { AEGIS_CCACHE: 'machine', AEGIS_CCACHE_DIR: testCompilerCacheDir() };
}
