import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BuildDiagnostic } from '@aegis/protocol';
import { parseBuildDiagnostics } from '../src/index.js';

/**
 * Precision and recall of parseBuildDiagnostics over every fixture: the real ESP-IDF v5.1.6 failure logs in
 * fixtures/diagnostics/ (see generate.sh there) and the hand-written shapes in fixtures/diagnostics/hand/. Each
 * `<name>.log` has `<name>.expected.json`: the diagnostics a reader finds in it.
 */
const DIR = fileURLToPath(new URL('./fixtures/diagnostics/', import.meta.url));

/** One expected diagnostic: exact fields, and a message the found one must contain. */
interface Expected {
  tool: string;
  severity: string;
  file: string;
  line: number;
  column?: number;
  message: string;
  summary?: boolean;
}

interface Fixture {
  name: string;
  log: string;
  expected: Expected[];
}

function fixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const sub of ['', 'hand/']) {
    for (const f of readdirSync(path.join(DIR, sub))
      .filter((n) => n.endsWith('.log'))
      .sort()) {
      const base = path.join(DIR, sub, f.slice(0, -'.log'.length));
      out.push({
        name: `${sub}${f}`,
        log: readFileSync(`${base}.log`, 'utf8'),
        expected: JSON.parse(readFileSync(`${base}.expected.json`, 'utf8')) as Expected[],
      });
    }
  }
  return out;
}

function matches(d: BuildDiagnostic, e: Expected): boolean {
  return (
    d.tool === e.tool &&
    d.severity === e.severity &&
    d.file === e.file &&
    d.line === e.line &&
    (e.column === undefined || d.column === e.column) &&
    (e.summary === undefined || Boolean(d.summary) === e.summary) &&
    d.message.includes(e.message)
  );
}

/** Pair found with expected diagnostics one to one (in order; each expected one used once). */
function score(found: BuildDiagnostic[], expected: Expected[]) {
  const used = new Set<number>();
  const extra: BuildDiagnostic[] = [];
  for (const d of found) {
    const k = expected.findIndex((e, j) => !used.has(j) && matches(d, e));
    if (k >= 0) used.add(k);
    else extra.push(d);
  }
  const missed = expected.filter((_, j) => !used.has(j));
  return { hits: used.size, extra, missed };
}

describe('parseBuildDiagnostics over the fixtures', () => {
  const all = fixtures();

  it('has real ESP-IDF logs and hand-written shapes, each with its expectations', () => {
    expect(all.filter((f) => !f.name.startsWith('hand/')).length).toBeGreaterThanOrEqual(8);
    expect(all.filter((f) => f.name.startsWith('hand/')).length).toBeGreaterThanOrEqual(10);
  });

  it('reaches precision ≥ 0.95 and recall ≥ 0.90, and every item fits the wire schema', () => {
    let found = 0;
    let expected = 0;
    let hits = 0;
    const report: string[] = [];
    for (const f of all) {
      const d = parseBuildDiagnostics(f.log);
      for (const item of d) expect(BuildDiagnostic.safeParse(item).success, JSON.stringify(item)).toBe(true);
      const s = score(d, f.expected);
      found += d.length;
      expected += f.expected.length;
      hits += s.hits;
      for (const x of s.extra) report.push(`${f.name}: unexpected ${JSON.stringify(x)}`);
      for (const x of s.missed) report.push(`${f.name}: missed ${JSON.stringify(x)}`);
    }
    const precision = found ? hits / found : 1;
    const recall = expected ? hits / expected : 1;
    console.log(
      `diagnostics over ${all.length} fixtures: precision ${precision.toFixed(3)} (${hits}/${found}), ` +
        `recall ${recall.toFixed(3)} (${hits}/${expected})${report.length ? `\n${report.join('\n')}` : ''}`,
    );
    expect(precision, report.join('\n')).toBeGreaterThanOrEqual(0.95);
    expect(recall, report.join('\n')).toBeGreaterThanOrEqual(0.9);
  });
});
