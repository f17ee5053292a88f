import { fileURLToPath } from 'node:url';
import type { ViteUserConfig as UserConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Tests import our packages from source, so a change in a lib is seen without a build.
 * `@aegis/x` → libs/x/src/index.ts, `@aegis/x/y` → libs/x/src/y.ts.
 */
export const aliases = [
  { find: /^@aegis\/([a-z-]+)$/, replacement: `${root}libs/$1/src/index.ts` },
  { find: /^@aegis\/([a-z-]+)\/(.+)$/, replacement: `${root}libs/$1/src/$2.ts` },
];

/**
 * WebRTC and browser suites (`*.rtc.spec.ts`) run in a private network namespace with only loopback
 * (scripts/test.mjs sets AEGIS_NETNS=1 there); everything else runs in the host namespace, where
 * PostgreSQL listens on 127.0.0.1:5432.
 */
const inNetns = process.env.AEGIS_NETNS === '1';
export const testFiles = inNetns
  ? { include: ['test/**/*.rtc.spec.ts'], exclude: [] as string[] }
  : { include: ['test/**/*.spec.ts'], exclude: ['test/**/*.rtc.spec.ts'] };

export function project(name: string, extra: UserConfig['test'] = {}): UserConfig {
  return {
    resolve: { alias: aliases },
    test: {
      name,
      environment: 'node',
      include: testFiles.include,
      exclude: [...testFiles.exclude, '**/node_modules/**'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      ...extra,
    },
  };
}
