import { SizeReport, describeZodError, type SizeComponent, type SizeRegion } from '@aegis/protocol';
import { EspFormatError } from './errors.js';

type Json = Record<string, unknown>;
type Usage = SizeReport['flash'];

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(o: Json, key: string): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.round(v)) : 0;
}

function withTotal(used: number, total: number): Usage {
  return total > 0 ? { used, total } : { used };
}

function compactParts(parts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(parts).filter(([, v]) => v > 0));
}

/** esp-idf-size legacy `--format json` summary: dram_*, iram_*, diram_*, flash_*, total_size. */
function fromLegacySummary(o: Json): Pick<SizeReport, 'flash' | 'ram' | 'image_size' | 'regions'> {
  const regions: SizeRegion[] = [];
  const ramRegion = (name: string, prefix: string, parts: string[]) => {
    const used = num(o, `used_${prefix}`);
    const total = num(o, `${prefix}_total`);
    if (used === 0 && total === 0) return;
    const p = compactParts(Object.fromEntries(parts.map((k) => [`.${k}`, num(o, `${prefix}_${k}`)])));
    regions.push({ name, used, ...(total > 0 ? { total } : {}), parts: p });
  };
  ramRegion('DRAM', 'dram', ['data', 'bss', 'rodata', 'other']);
  ramRegion('IRAM', 'iram', ['vectors', 'text', 'other']);
  ramRegion('D/IRAM', 'diram', ['data', 'bss', 'text', 'vectors', 'rodata', 'other']);
  const code = num(o, 'flash_code');
  const rodata = num(o, 'flash_rodata');
  const other = num(o, 'flash_other');
  if (code > 0) regions.push({ name: 'Flash Code', used: code, parts: { '.text': code } });
  if (rodata + other > 0)
    regions.push({
      name: 'Flash Data',
      used: rodata + other,
      parts: compactParts({ '.rodata': rodata, '.other': other }),
    });
  const ramUsed = num(o, 'used_dram') + num(o, 'used_iram') + num(o, 'used_diram');
  const ramTotal = num(o, 'dram_total') + num(o, 'iram_total') + num(o, 'diram_total');
  const flashUsed = 'used_flash_non_ram' in o ? num(o, 'used_flash_non_ram') : code + rodata + other;
  const image = num(o, 'total_size');
  return {
    flash: { used: flashUsed },
    ram: withTotal(ramUsed, ramTotal),
    ...(image > 0 ? { image_size: image } : {}),
    regions,
  };
}

/** esp-idf-size legacy `--archives --format json`: { "libc.a": { ".flash.text": n, …, flash_total, ram_st_total } }. */
function fromLegacyArchives(o: Json): SizeComponent[] {
  return Object.entries(o)
    .filter((e): e is [string, Json] => isObject(e[1]))
    .map(([name, v]) => ({ name, flash: num(v, 'flash_total'), ram: num(v, 'ram_st_total') }));
}

const isFlashType = (name: string) => /^flash/i.test(name);

/** esp-idf-size ≥1.0 `--format json2` summary: { version, layout: [{ name, total, used, free, parts }] }. */
function fromJson2Layout(layout: unknown[]): Pick<SizeReport, 'flash' | 'ram' | 'regions'> {
  const regions: SizeRegion[] = layout.filter(isObject).map((m) => {
    const parts: Record<string, number> = {};
    if (isObject(m.parts))
      for (const [k, v] of Object.entries(m.parts))
        parts[k] = isObject(v) ? num(v, 'size') : typeof v === 'number' ? v : 0;
    const total = num(m, 'total');
    return { name: String(m.name ?? 'unknown'), used: num(m, 'used'), ...(total > 0 ? { total } : {}), parts };
  });
  let flash = 0;
  let ram = 0;
  let ramTotal = 0;
  for (const r of regions) {
    if (isFlashType(r.name)) flash += r.used;
    else {
      ram += r.used;
      ramTotal += r.total ?? 0;
    }
  }
  return { flash: { used: flash }, ram: withTotal(ram, ramTotal), regions };
}

/** json2 `--archives`: { "libc.a": { size, memory_types: { "Flash Code": { size, … } } } }. */
function fromJson2Archives(o: Json): SizeComponent[] {
  return Object.entries(o)
    .filter((e): e is [string, Json] => isObject(e[1]) && isObject(e[1].memory_types))
    .map(([name, v]) => {
      let flash = 0;
      let ram = 0;
      for (const [type, info] of Object.entries(v.memory_types as Json)) {
        const size = isObject(info) ? num(info, 'size') : 0;
        if (isFlashType(type)) flash += size;
        else ram += size;
      }
      return { name, flash, ram };
    });
}

const TEXT_NUM = String.raw`\s*(\d+)\s+bytes`;

/** The text `idf.py size` prints ("Total sizes: / Used static DRAM: … / Total image size: …"), incl. diffs. */
function fromLegacyText(text: string): SizeReport {
  const lines = text.split(/\r?\n/);
  const regions: SizeRegion[] = [];
  let current: SizeRegion | undefined;
  let flashUsed: number | undefined;
  let image: number | undefined;
  const components: SizeComponent[] = [];
  let columns: string[] | undefined;
  for (const line of lines) {
    const region = new RegExp(String.raw`^Used (?:static|stat) ([A-Z/]+)\s*:${TEXT_NUM}\s*\(\s*(-?\d+) remain`).exec(
      line,
    );
    if (region) {
      const used = Number(region[2]);
      current = { name: region[1], used, total: Math.max(0, used + Number(region[3])), parts: {} };
      regions.push(current);
      continue;
    }
    const flash = new RegExp(String.raw`^Used Flash size\s*:${TEXT_NUM}`).exec(line);
    if (flash) {
      flashUsed = Number(flash[1]);
      current = { name: 'Flash', used: flashUsed, parts: {} };
      regions.push(current);
      continue;
    }
    const total = new RegExp(String.raw`^Total image size\s*:${TEXT_NUM}`).exec(line);
    if (total) {
      image = Number(total[1]);
      current = undefined;
      continue;
    }
    const part = /^\s+(\.[a-z_]+)(?:\s+size)?\s*:\s*(\d+)\s+bytes/.exec(line);
    if (part && current?.parts) {
      current.parts[part[1]] = Number(part[2]);
      continue;
    }
    if (/^\s*Archive File\s/.test(line) || /^\s*Object File\s/.test(line)) {
      columns = line
        .trim()
        .split(/\s+/)
        .filter((t) => t.includes('.') || t.endsWith('_total'));
      continue;
    }
    if (columns) {
      const cells = line.trim().split(/\s+/);
      const values = cells.slice(1).map(Number);
      if (cells.length === columns.length + 1 && values.every(Number.isFinite)) {
        components.push({
          name: cells[0],
          flash: values[columns.indexOf('flash_total')] ?? 0,
          ram: values[columns.indexOf('ram_st_total')] ?? 0,
        });
      }
    }
  }
  if (regions.length === 0 && image === undefined)
    throw new EspFormatError(
      'bad_size_report',
      'This is not idf.py size output: no "Used static …" or "Total image size" line.',
    );
  const ramRegions = regions.filter((r) => r.name !== 'Flash');
  const ramUsed = ramRegions.reduce((n, r) => n + r.used, 0);
  const ramTotal = ramRegions.reduce((n, r) => n + (r.total ?? 0), 0);
  return {
    source: 'legacy-text',
    flash: { used: flashUsed ?? 0 },
    ram: withTotal(ramUsed, ramTotal),
    ...(image !== undefined ? { image_size: image } : {}),
    regions,
    ...(components.length ? { components } : {}),
  };
}

function validated(report: SizeReport): SizeReport {
  const r = SizeReport.safeParse(report);
  if (!r.success) throw new EspFormatError('bad_size_report', `Size report is invalid: ${describeZodError(r.error)}`);
  return r.data;
}

/**
 * The JSON object in the stdout of `idf.py size … --format json`, as text. idf.py first runs `ninja all` and prints
 * `Executing action: size`, the ninja log and CMake messages on stdout, then the JSON; this finds the first line
 * starting with `{` from which the text up to a closing `}` line parses as an object. Undefined when there is none.
 */
export function jsonObjectInOutput(stdout: string): string | undefined {
  const lines = stdout.split(/\r?\n/);
  const opens: number[] = [];
  const closes: number[] = [];
  lines.forEach((l, i) => {
    const t = l.trimStart();
    if (t.startsWith('{')) opens.push(i);
    if (t.startsWith('}') || t.trimEnd().endsWith('}')) closes.push(i);
  });
  let tries = 0;
  for (const start of opens) {
    for (let k = closes.length - 1; k >= 0 && closes[k] >= start; k--) {
      // A log is not adversarial, but a bound keeps a pathological one from costing quadratic parse time.
      if (++tries > 200) return undefined;
      const text = lines.slice(start, closes[k] + 1).join('\n');
      try {
        const v: unknown = JSON.parse(text);
        if (isObject(v)) return text;
      } catch {
        // not this span
      }
    }
  }
  return undefined;
}

/**
 * Normalise `idf.py size` output: legacy `--format json` (summary, `--archives`, `--diff`), esp-idf-size's
 * `json2` (summary and archives), or the text table. Accepts parsed JSON or the raw text, also the whole stdout of
 * idf.py with its log lines before the JSON.
 */
export function parseSizeReport(input: unknown): SizeReport {
  let data = input;
  if (typeof input === 'string') {
    // The stdout of idf.py carries the build log before the JSON (see jsonObjectInOutput).
    const json = jsonObjectInOutput(input);
    if (json !== undefined) data = JSON.parse(json);
    else if (input.trim().startsWith('{'))
      throw new EspFormatError('bad_size_report', 'Size report starts like JSON but does not parse.');
    else return validated(fromLegacyText(input));
  }
  if (!isObject(data)) throw new EspFormatError('bad_size_report', 'Size report must be a JSON object.');

  if (Array.isArray(data.layout)) {
    const base = fromJson2Layout(data.layout);
    const archives = isObject(data.archives) ? fromJson2Archives(data.archives) : [];
    return validated({ source: 'json2', ...base, ...(archives.length ? { components: archives } : {}) });
  }
  if (isObject(data.current) && isObject(data.reference)) {
    const cur = fromLegacySummary(data.current);
    const ref = fromLegacySummary(data.reference);
    return validated({
      source: 'legacy-json',
      ...cur,
      reference: {
        flash: ref.flash,
        ram: ref.ram,
        ...(ref.image_size !== undefined ? { image_size: ref.image_size } : {}),
      },
    });
  }
  if ('total_size' in data || 'used_dram' in data || 'used_diram' in data || 'flash_code' in data)
    return validated({ source: 'legacy-json', ...fromLegacySummary(data) });

  const values = Object.values(data);
  if (values.length > 0 && values.every((v) => isObject(v) && isObject(v.memory_types))) {
    const components = fromJson2Archives(data);
    return validated({
      source: 'json2',
      flash: { used: components.reduce((n, c) => n + c.flash, 0) },
      ram: { used: components.reduce((n, c) => n + c.ram, 0) },
      regions: [],
      components,
    });
  }
  if (values.length > 0 && values.every((v) => isObject(v) && ('flash_total' in v || 'ram_st_total' in v))) {
    const components = fromLegacyArchives(data);
    return validated({
      source: 'legacy-json',
      flash: { used: components.reduce((n, c) => n + c.flash, 0) },
      ram: { used: components.reduce((n, c) => n + c.ram, 0) },
      regions: [],
      components,
    });
  }
  throw new EspFormatError(
    'bad_size_report',
    'Size report JSON is not a format idf.py size writes (summary, archives, diff or json2).',
  );
}

/**
 * The per-archive (`idf.py size-components`) or per-object-file (`idf.py size-files`) table as `{name, flash, ram}`
 * rows, from legacy `--format json`, json2 or the text table. A summary without such a table is an error.
 */
export function parseSizeComponents(input: unknown): SizeComponent[] {
  const report = parseSizeReport(input);
  if (!report.components)
    throw new EspFormatError(
      'bad_size_report',
      'This size report has no per-archive or per-file table; use the output of idf.py size-components or size-files.',
    );
  return report.components;
}
