import { md5 } from '@noble/hashes/legacy.js';
import { bytesEqual, readCString, view, writeCString } from './bytes.js';
import { EspFormatError, hex } from './errors.js';

/** One row of an ESP-IDF partition table. */
export interface Partition {
  name: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
  encrypted: boolean;
  readonly: boolean;
}

export const PARTITION_TABLE_OFFSET = 0x8000;
/** The table's flash sector (entries + MD5 + 0xFF padding are written as 0xC00 bytes). */
export const PARTITION_TABLE_SIZE = 0x1000;
export const PARTITION_TABLE_MAX_LENGTH = 0xc00;
export const PARTITION_ENTRY_SIZE = 32;
export const PARTITION_MAGIC = 0x50aa;

export const PARTITION_TYPES: Readonly<Record<string, number>> = {
  app: 0x00,
  data: 0x01,
  bootloader: 0x02,
  partition_table: 0x03,
};

const APP_SUBTYPES: Record<string, number> = { factory: 0x00, test: 0x20 };
for (let i = 0; i < 16; i++) APP_SUBTYPES[`ota_${i}`] = 0x10 + i;

export const PARTITION_SUBTYPES: Readonly<Record<number, Readonly<Record<string, number>>>> = {
  0x00: APP_SUBTYPES,
  0x01: {
    ota: 0x00,
    phy: 0x01,
    nvs: 0x02,
    coredump: 0x03,
    nvs_keys: 0x04,
    efuse: 0x05,
    undefined: 0x06,
    esphttpd: 0x80,
    fat: 0x81,
    spiffs: 0x82,
    littlefs: 0x83,
  },
  0x02: { primary: 0x00, ota: 0x01, recovery: 0x02 },
  0x03: { primary: 0x00, ota: 0x01 },
};

const FLAG_BITS = { encrypted: 0, readonly: 1 } as const;
const MD5_MARKER = new Uint8Array([0xeb, 0xeb, ...new Array<number>(14).fill(0xff)]);

/** gen_esp32part.py's alignment rules: app partitions on 64 KiB, everything else on 4 KiB. */
export function partitionAlignment(type: number): number {
  return type === PARTITION_TYPES.app ? 0x10000 : 0x1000;
}

/** gen_esp32part.py parse_int: keyword, then K/M suffix, then 0x/0o/0b/decimal. */
function parseIntField(raw: string, keywords: Readonly<Record<string, number>>, what: string, line: number): number {
  const v = raw.trim();
  const kw = keywords[v.toLowerCase()];
  if (kw !== undefined) return kw;
  const suffix = v.slice(-1).toLowerCase();
  if (v.length > 1 && (suffix === 'k' || suffix === 'm'))
    return parseIntField(v.slice(0, -1), keywords, what, line) * (suffix === 'k' ? 1024 : 1024 * 1024);
  let n = Number.NaN;
  if (/^0x[0-9a-f]+$/i.test(v)) n = Number.parseInt(v.slice(2), 16);
  else if (/^0o[0-7]+$/i.test(v)) n = Number.parseInt(v.slice(2), 8);
  else if (/^0b[01]+$/i.test(v)) n = Number.parseInt(v.slice(2), 2);
  else if (/^[0-9]+$/.test(v)) n = Number.parseInt(v, 10);
  if (!Number.isFinite(n))
    throw new EspFormatError(
      'bad_csv',
      `Line ${line}: invalid ${what} '${raw}' (use a name, a number like 0x9000, or 1M/64K).`,
    );
  return n;
}

interface CsvRow extends Omit<Partition, 'offset'> {
  offset?: number;
  line: number;
}

function parseCsvLine(text: string, line: number): CsvRow {
  const fields = (text + ',,,,').split(',').map((f) => f.trim());
  const [name, typeRaw, subtypeRaw, offsetRaw, sizeRaw, flagsRaw] = fields;
  if (typeRaw === '') throw new EspFormatError('bad_csv', `Line ${line}: the type field can't be left empty.`);
  const type = parseIntField(typeRaw, PARTITION_TYPES, 'type', line);
  let subtype: number;
  if (subtypeRaw === '') {
    if (type === PARTITION_TYPES.app)
      throw new EspFormatError('bad_csv', `Line ${line}: an app partition needs a subtype (factory, ota_0, …).`);
    subtype = PARTITION_SUBTYPES[0x01].undefined;
  } else {
    subtype = parseIntField(subtypeRaw, PARTITION_SUBTYPES[type] ?? {}, 'subtype', line);
  }
  if (sizeRaw === '') throw new EspFormatError('bad_csv', `Line ${line}: the size field can't be left empty.`);
  const row: CsvRow = {
    line,
    name,
    type,
    subtype,
    offset: offsetRaw === '' ? undefined : parseIntField(offsetRaw, {}, 'offset', line),
    size: parseIntField(sizeRaw, {}, 'size', line),
    encrypted: false,
    readonly: false,
  };
  for (const flag of flagsRaw.split(':')) {
    if (flag === 'encrypted' || flag === 'readonly') row[flag] = true;
    else if (flag.length > 0)
      throw new EspFormatError('bad_csv', `Line ${line}: unknown flag '${flag}' (known: encrypted, readonly).`);
  }
  return row;
}

/**
 * Parse a partitions.csv like gen_esp32part.py: `#` comments, missing offsets allocated after the previous
 * partition (aligned to the type's alignment), the first one after the table sector.
 */
export function parsePartitionCsv(text: string, tableOffset = PARTITION_TABLE_OFFSET): Partition[] {
  const rows: CsvRow[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    rows.push(parseCsvLine(line, i + 1));
  });
  let lastEnd = tableOffset + PARTITION_TABLE_SIZE;
  const parts: Partition[] = rows.map((r, i) => {
    let offset = r.offset;
    if (offset !== undefined && offset < lastEnd) {
      throw new EspFormatError(
        'partition_overlap',
        i === 0
          ? `Line ${r.line}: partition '${r.name}' starts at ${hex(offset)}, inside the partition table sector; use ${hex(lastEnd)} or higher.`
          : `Line ${r.line}: partition '${r.name}' starts at ${hex(offset)} but the previous one ends at ${hex(lastEnd)}.`,
      );
    }
    if (offset === undefined) {
      const align = partitionAlignment(r.type);
      offset = lastEnd % align === 0 ? lastEnd : lastEnd + align - (lastEnd % align);
    }
    lastEnd = offset + r.size;
    return {
      name: r.name,
      type: r.type,
      subtype: r.subtype,
      offset,
      size: r.size,
      encrypted: r.encrypted,
      readonly: r.readonly,
    };
  });
  verifyPartitions(parts);
  return parts;
}

/** The checks gen_esp32part.py makes before writing a table. */
export function verifyPartitions(parts: readonly Partition[]): void {
  const names = new Set<string>();
  for (const p of parts) {
    if (p.name === '') throw new EspFormatError('bad_partition', 'A partition has an empty name.');
    if (new TextEncoder().encode(p.name).length > 16)
      throw new EspFormatError('bad_partition', `Partition name '${p.name}' is longer than 16 bytes.`);
    if (names.has(p.name)) throw new EspFormatError('bad_partition', `Partition name '${p.name}' is used twice.`);
    names.add(p.name);
    if (p.type < 0 || p.type > 0xfe || p.subtype < 0 || p.subtype > 0xfe)
      throw new EspFormatError('bad_partition', `Partition '${p.name}' has a type or subtype outside 0..0xFE.`);
    const align = partitionAlignment(p.type);
    if (p.offset % align !== 0)
      throw new EspFormatError(
        'bad_partition',
        `Partition '${p.name}' offset ${hex(p.offset)} is not aligned to ${hex(align)}.`,
      );
    if (p.size <= 0) throw new EspFormatError('bad_partition', `Partition '${p.name}' has size ${p.size}.`);
    if (p.type === PARTITION_TYPES.app && p.size % 0x1000 !== 0)
      throw new EspFormatError(
        'bad_partition',
        `App partition '${p.name}' size ${hex(p.size)} is not a multiple of 4 KiB.`,
      );
  }
  const sorted = [...parts].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (sorted[i].offset < prev.offset + prev.size)
      throw new EspFormatError(
        'partition_overlap',
        `Partition '${sorted[i].name}' at ${hex(sorted[i].offset)} overlaps '${prev.name}' (${hex(prev.offset)}..${hex(prev.offset + prev.size)}).`,
      );
  }
  const otadata = parts.filter((p) => p.type === PARTITION_TYPES.data && p.subtype === PARTITION_SUBTYPES[1].ota);
  if (otadata.length > 1) throw new EspFormatError('bad_partition', 'Found more than one otadata partition.');
}

/** The binary table: 32-byte entries, the MD5 entry (0xEBEB…), 0xFF to 0xC00 bytes. */
export function partitionsToBinary(parts: readonly Partition[], opts: { md5?: boolean } = {}): Uint8Array {
  verifyPartitions(parts);
  const withMd5 = opts.md5 ?? true;
  const entriesLen = parts.length * PARTITION_ENTRY_SIZE;
  const total = entriesLen + (withMd5 ? PARTITION_ENTRY_SIZE : 0);
  if (total >= PARTITION_TABLE_MAX_LENGTH)
    throw new EspFormatError('bad_partition', `${parts.length} partitions do not fit in the 0xC00-byte table.`);
  const out = new Uint8Array(PARTITION_TABLE_MAX_LENGTH).fill(0xff);
  const dv = view(out);
  parts.forEach((p, i) => {
    const o = i * PARTITION_ENTRY_SIZE;
    dv.setUint16(o, PARTITION_MAGIC, true);
    out[o + 2] = p.type;
    out[o + 3] = p.subtype;
    dv.setUint32(o + 4, p.offset, true);
    dv.setUint32(o + 8, p.size, true);
    writeCString(out, o + 12, 16, p.name);
    dv.setUint32(
      o + 28,
      (p.encrypted ? 1 << FLAG_BITS.encrypted : 0) | (p.readonly ? 1 << FLAG_BITS.readonly : 0),
      true,
    );
  });
  if (withMd5) {
    out.set(MD5_MARKER, entriesLen);
    out.set(md5(out.subarray(0, entriesLen)), entriesLen + 16);
  }
  return out;
}

/** Parse a binary table. `md5Valid` is undefined when the table has no MD5 entry. */
export function parsePartitionBinary(bytes: Uint8Array): { partitions: Partition[]; md5Valid?: boolean } {
  const partitions: Partition[] = [];
  let md5Valid: boolean | undefined;
  const dv = view(bytes);
  for (let o = 0; o + PARTITION_ENTRY_SIZE <= bytes.length; o += PARTITION_ENTRY_SIZE) {
    const entry = bytes.subarray(o, o + PARTITION_ENTRY_SIZE);
    if (entry.every((b) => b === 0xff)) return { partitions, md5Valid };
    if (entry[0] === 0xeb && entry[1] === 0xeb) {
      md5Valid = bytesEqual(entry.subarray(16), md5(bytes.subarray(0, o)));
      continue;
    }
    const magic = dv.getUint16(o, true);
    if (magic !== PARTITION_MAGIC)
      throw new EspFormatError('bad_magic', `Partition entry ${o / 32} has magic ${hex(magic, 4)}, expected 0x50aa.`);
    const flags = dv.getUint32(o + 28, true);
    partitions.push({
      name: readCString(bytes, o + 12, 16),
      type: entry[2],
      subtype: entry[3],
      offset: dv.getUint32(o + 4, true),
      size: dv.getUint32(o + 8, true),
      encrypted: (flags & (1 << FLAG_BITS.encrypted)) !== 0,
      readonly: (flags & (1 << FLAG_BITS.readonly)) !== 0,
    });
  }
  if (partitions.length === 0 && bytes.length < PARTITION_ENTRY_SIZE)
    throw new EspFormatError('truncated', `Partition table is ${bytes.length} bytes, shorter than one entry.`);
  return { partitions, md5Valid };
}

export function partitionTypeName(type: number): string {
  return Object.entries(PARTITION_TYPES).find(([, v]) => v === type)?.[0] ?? String(type);
}

export function partitionSubtypeName(type: number, subtype: number): string {
  return Object.entries(PARTITION_SUBTYPES[type] ?? {}).find(([, v]) => v === subtype)?.[0] ?? String(subtype);
}

function sizeText(n: number): string {
  if (n % 0x100000 === 0) return `${n / 0x100000}M`;
  if (n % 0x400 === 0) return `${n / 0x400}K`;
  return hex(n);
}

/** CSV as gen_esp32part.py writes it (names for known types, sizes in K/M where exact). */
export function partitionsToCsv(parts: readonly Partition[]): string {
  const rows = ['# ESP-IDF Partition Table', '# Name, Type, SubType, Offset, Size, Flags'];
  for (const p of parts) {
    const flags = [p.encrypted ? 'encrypted' : '', p.readonly ? 'readonly' : ''].filter(Boolean).join(':');
    rows.push(
      [
        p.name,
        partitionTypeName(p.type),
        partitionSubtypeName(p.type, p.subtype),
        hex(p.offset),
        sizeText(p.size),
        flags,
      ].join(','),
    );
  }
  return rows.join('\n') + '\n';
}

/** The app partition the bootloader starts without OTA data: factory, else the first ota_N. */
export function bootAppPartition(parts: readonly Partition[]): Partition | undefined {
  const apps = parts.filter((p) => p.type === PARTITION_TYPES.app);
  return apps.find((p) => p.subtype === 0x00) ?? apps.find((p) => p.subtype >= 0x10 && p.subtype < 0x20);
}

/** ESP-IDF's components/partition_table/partitions_singleapp.csv (the default table). */
export const SINGLE_APP_PARTITIONS_CSV = `# Name,   Type, SubType, Offset,  Size, Flags
# Note: if you have increased the bootloader size, make sure to update the offsets to avoid overlap
nvs,      data, nvs,     ,        0x6000,
phy_init, data, phy,     ,        0x1000,
factory,  app,  factory, ,        1M,
`;
