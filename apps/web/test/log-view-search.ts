import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * How many lines of the build log contain `text` (case-insensitive), asked through the log's own search box: the
 * log is virtualised, so the page holds only the rows on screen and its textContent is not the whole log.
 */
export async function logMatches(page: Page, text: string): Promise<number> {
  const search = page.getByLabel('Search the log');
  await search.fill(text);
  const count = page.getByTestId('log-search-count');
  await expect.poll(() => count.textContent()).toMatch(/^\d+ \/ \d+$/);
  const n = Number((await count.textContent())!.split(' / ')[1]);
  await search.fill('');
  return n;
}
