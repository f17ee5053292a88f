import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['libs/*', 'apps/api', 'apps/machine', 'apps/web', 'test/*'],
  },
});
