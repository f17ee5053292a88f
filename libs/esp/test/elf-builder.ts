/** Builds small little-endian ELF32 files for tests (Xtensa has no compiler on this machine). */
export interface SyntheticSection {
  name: string;
  addr: number;
  /** PROGBITS with these bytes, or NOBITS of this size. */
  data?: Uint8Array;
  nobitsSize?: number;
  type?: number;
  flags?: number;
}

export function buildElf32(opts: { machine: number; entry: number; sections: SyntheticSection[] }): Uint8Array {
  const names = ['', ...opts.sections.map((s) => s.name), '.shstrtab'];
  const nameOffsets: number[] = [];
  const strParts: number[] = [];
  for (const n of names) {
    nameOffsets.push(strParts.length);
    for (const c of new TextEncoder().encode(n)) strParts.push(c);
    strParts.push(0);
  }
  const shstrtab = new Uint8Array(strParts);
  const loadable = opts.sections.filter((s) => s.data);
  const phnum = loadable.length;
  let pos = 52 + phnum * 32;
  const dataOffsets = opts.sections.map((s) => {
    pos = (pos + 3) & ~3;
    const at = pos;
    pos += s.data?.length ?? 0;
    return at;
  });
  const strOff = pos;
  pos += shstrtab.length;
  pos = (pos + 3) & ~3;
  const shoff = pos;
  const shnum = names.length;
  const total = shoff + shnum * 40;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, opts.machine, true);
  dv.setUint32(20, 1, true);
  dv.setUint32(24, opts.entry, true);
  dv.setUint32(28, phnum ? 52 : 0, true);
  dv.setUint32(32, shoff, true);
  dv.setUint16(40, 52, true);
  dv.setUint16(42, 32, true);
  dv.setUint16(44, phnum, true);
  dv.setUint16(46, 40, true);
  dv.setUint16(48, shnum, true);
  dv.setUint16(50, shnum - 1, true);
  let ph = 52;
  opts.sections.forEach((s, i) => {
    if (s.data) {
      out.set(s.data, dataOffsets[i]);
      dv.setUint32(ph, 1, true);
      dv.setUint32(ph + 4, dataOffsets[i], true);
      dv.setUint32(ph + 8, s.addr, true);
      dv.setUint32(ph + 12, s.addr, true);
      dv.setUint32(ph + 16, s.data.length, true);
      dv.setUint32(ph + 20, s.data.length, true);
      dv.setUint32(ph + 24, 5, true);
      dv.setUint32(ph + 28, 4, true);
      ph += 32;
    }
  });
  out.set(shstrtab, strOff);
  const sh = (idx: number, name: number, type: number, flags: number, addr: number, off: number, size: number) => {
    const o = shoff + idx * 40;
    dv.setUint32(o, name, true);
    dv.setUint32(o + 4, type, true);
    dv.setUint32(o + 8, flags, true);
    dv.setUint32(o + 12, addr, true);
    dv.setUint32(o + 16, off, true);
    dv.setUint32(o + 20, size, true);
    dv.setUint32(o + 32, 4, true);
  };
  opts.sections.forEach((s, i) => {
    const type = s.type ?? (s.data ? 1 : 8);
    sh(i + 1, nameOffsets[i + 1], type, s.flags ?? 2, s.addr, dataOffsets[i], s.data?.length ?? s.nobitsSize ?? 0);
  });
  sh(shnum - 1, nameOffsets[shnum - 1], 3, 0, 0, strOff, shstrtab.length);
  return out;
}

/** Deterministic filler bytes. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
