import { ensureIdfStore, testStoreDir } from '../../../scripts/idf-store.mjs';

/**
 * The real ESP-IDF v5.1.6 store every build test uses: `npm test` provisions it once from the kit and passes it in
 * AEGIS_TEST_STORE; a test file run on its own provisions it here (serialised, about a second when up to date).
 * Throws with what to do when the kit is missing.
 */
export function realIdfStore(): string {
  return process.env.AEGIS_TEST_STORE ?? ensureIdfStore(testStoreDir(), { quiet: true });
}
