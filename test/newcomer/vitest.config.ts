import { defineConfig } from 'vitest/config';
import { project, testFiles } from '../../vitest.shared.ts';

// This project's root is test/<name>, so its files are matched without the shared `test/` prefix.
const config = project('newcomer', { testTimeout: 30_000, hookTimeout: 120_000 });
config.test!.include = testFiles.include.map((p) => p.replace(/^test\//, ''));
config.test!.exclude = [...testFiles.exclude.map((p) => p.replace(/^test\//, '')), '**/node_modules/**'];

export default defineConfig(config);
