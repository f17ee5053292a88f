import type { SizeComponent, SizeDetail, SizeReport } from '@aegis/protocol';
import { EspctlError } from '../errors.js';
import { parseSizeComponents, parseSizeReport } from './esp-parsers.js';

/** What `size.run` and `espctl size` return for one `idf.py size` run at a given detail. */
export interface SizeResult {
  detail: SizeDetail;
  summary?: SizeReport;
  components?: SizeComponent[];
  files?: SizeComponent[];
  report: Record<string, unknown>;
}

/** Largest (flash + RAM) first, then by name, so output is stable. */
export function largestFirst(rows: SizeComponent[]): SizeComponent[] {
  return [...rows].sort((a, b) => b.flash + b.ram - (a.flash + a.ram) || a.name.localeCompare(b.name));
}

/**
 * Shape the machine's raw `size {detail}` answer. A summary that does not parse is left out (the raw report is
 * still there); a per-archive/per-file table that does not parse is an error, since it is the whole answer.
 */
export function sizeResult(detail: SizeDetail, report: Record<string, unknown>): SizeResult {
  if (detail === 'summary') {
    let summary: SizeReport | undefined;
    try {
      summary = parseSizeReport(report);
    } catch {
      summary = undefined;
    }
    return { detail, summary, report };
  }
  let rows: SizeComponent[];
  try {
    rows = parseSizeComponents(report);
  } catch (err) {
    throw new EspctlError(
      'bad_size_report',
      `The build machine's idf.py size-${detail} output is not a per-${detail === 'files' ? 'file' : 'archive'} table: ${(err as Error).message}`,
    );
  }
  const sorted = largestFirst(rows);
  return detail === 'files' ? { detail, files: sorted, report } : { detail, components: sorted, report };
}

/** A plain-text table of rows: name, flash bytes, RAM bytes (rows already largest first). */
export function sizeTable(rows: SizeComponent[], nameHeader: string): string {
  const width = Math.max(nameHeader.length, ...rows.map((r) => r.name.length));
  const line = (name: string, flash: string, ram: string): string =>
    `${name.padEnd(width)}  ${flash.padStart(12)}  ${ram.padStart(12)}`;
  return [
    line(nameHeader, 'flash bytes', 'RAM bytes'),
    ...rows.map((r) => line(r.name, String(r.flash), String(r.ram))),
  ].join('\n');
}
