import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { REPO } from './next-server';

export const SHOTS_DIR = `${REPO}test-results/web`;

/** Saves a full-page screenshot as test-results/web/<name>.png (a test artifact). */
export async function shot(page: Page, name: string) {
  mkdirSync(SHOTS_DIR, { recursive: true });
  await page.screenshot({ path: `${SHOTS_DIR}/${name}.png`, fullPage: true });
}
