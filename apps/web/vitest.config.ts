import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { aliases, project } from '../../vitest.shared.ts';

const base = project('web', {
  testTimeout: 120_000,
  hookTimeout: 240_000,
  globalSetup: ['test/support/global-setup.ts'],
});
export default defineConfig({
  ...base,
  resolve: {
    alias: [...aliases, { find: /^@\/(.*)$/, replacement: fileURLToPath(new URL('./src/$1', import.meta.url)) }],
  },
});
