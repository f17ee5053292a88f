import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PEER, ROOT, browserProblems } from '../../../libs/peer/test/import-graph';

const WEB = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|tsx)$/.test(name) ? [p] : [];
  });
}

// The dashboard runs libs/peer's channel clients in the browser: it may reach them only through the browser entry,
// and that entry must reach nothing Node-only (a Node built-in, werift, Buffer), however deep.
describe('the dashboard and libs/peer', () => {
  const files = [...sources(join(WEB, 'src')), ...sources(join(WEB, 'app'))];

  it('imports libs/peer only as @aegis/peer/browser, and never werift', () => {
    const wrong: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'((?:@aegis\/peer|werift)[^']*)'/g))
        if (m[1] !== '@aegis/peer/browser') wrong.push(`${relative(ROOT, f)} imports ${m[1]}`);
    }
    expect(wrong).toEqual([]);
    // The check looked at the files that use the clients.
    expect(files.some((f) => readFileSync(f, 'utf8').includes("'@aegis/peer/browser'"))).toBe(true);
  });

  it('gets through @aegis/peer/browser no Node built-in, werift or Node global', () => {
    const pkg = JSON.parse(readFileSync(join(PEER, 'package.json'), 'utf8')) as {
      exports: Record<string, { default: string }>;
    };
    // What Next bundles (dist/browser.js) is built from src/browser.ts.
    const entry = pkg.exports['./browser'].default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
    expect(browserProblems(join(PEER, entry)).problems).toEqual([]);
  });
});
