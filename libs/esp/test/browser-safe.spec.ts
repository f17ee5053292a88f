import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

// libs/esp runs in the dashboard too: no Node built-ins, no Buffer/process. (tsconfig.build.json also builds it
// with `types: []`, so a Node-only global fails the build.)
describe('libs/esp source is browser-safe', () => {
  it('imports only browser-safe modules', () => {
    const allowed = /^(\.\/|@aegis\/protocol$|@noble\/hashes\/(sha2|legacy)\.js$|jose$)/;
    for (const file of readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(SRC, file), 'utf8');
      for (const m of text.matchAll(/from '([^']+)'/g)) expect(m[1], `${file} imports ${m[1]}`).toMatch(allowed);
      expect(/\bBuffer\b|\bprocess\.|\brequire\(/.test(text), file).toBe(false);
    }
  });
});
