import { sha256 } from '@noble/hashes/sha2.js';
import type { FlashFreq, FlashMode, FlashSize, Target } from '@aegis/protocol';
import { writeAppImage, IMAGE_HEADER_SIZE, MAX_SEGMENTS, SEGMENT_HEADER_SIZE, type ImageSegment } from './app-image.js';
import { concatBytes, padTo } from './bytes.js';
import { readAppDesc } from './app-desc.js';
import { CHIPS, isFlashMapped, memoryTypes, type ChipInfo } from './chips.js';
import { parseElf, PT_LOAD, SHT_FINI_ARRAY, SHT_INIT_ARRAY, SHT_PROGBITS } from './elf.js';
import { EspFormatError, hex } from './errors.js';

/** Default flash MMU page size, the only one on most chips (esptool's IROM_ALIGN). */
export const IROM_ALIGN = 0x10000;
/** Chips whose MMU page size can be chosen (esptool's set_mmu_page_size overrides) and the sizes allowed. */
export const MMU_PAGE_SIZES: Partial<Record<Target, readonly number[]>> = {
  esp32c2: [0x4000, 0x8000, 0x10000],
  esp32c5: [0x2000, 0x4000, 0x8000, 0x10000],
  esp32c6: [0x2000, 0x4000, 0x8000, 0x10000],
  esp32h2: [0x2000, 0x4000, 0x8000, 0x10000],
};
/** Where esptool patches the ELF's SHA-256 into an app with a flash-resident esp_app_desc_t. */
export const APP_ELF_SHA256_IMAGE_OFFSET = 0xb0;

export interface ElfToImageOptions {
  chip: Target;
  flashMode: FlashMode;
  flashFreq: FlashFreq;
  flashSize: FlashSize;
  minRevision?: number;
  maxRevision?: number;
  legacyMinRevision?: number;
  /** Default true, as ESP-IDF builds. */
  hashAppended?: boolean;
  /**
   * Image offset to write the ELF file's SHA-256 at (into esp_app_desc_t.app_elf_sha256). `'auto'` (default) does
   * what esptool 5 does: 0xB0 when the ELF has a `.flash.appdesc` section in flash; `'none'` never patches.
   */
  elfSha256Offset?: number | 'auto' | 'none';
  /** Use PT_LOAD program headers instead of sections (esptool `--use_segments`). */
  useSegments?: boolean;
  /**
   * Flash MMU page size in bytes (esptool `--flash-mmu-page-size`; ESP-IDF passes CONFIG_MMU_PAGE_SIZE). `'auto'`
   * (default): the `mmu_page_size` of the ELF's app descriptor when set (ESP-IDF 5.3+), else 64 KB.
   */
  mmuPageSize?: number | 'auto';
}

function pageSizeFor(chip: ChipInfo, want: number | 'auto', appdesc: Uint8Array | undefined): number {
  const allowed = MMU_PAGE_SIZES[chip.target] ?? [IROM_ALIGN];
  const size = want === 'auto' ? ((appdesc && readAppDesc(appdesc)?.mmuPageSize) ?? IROM_ALIGN) : want;
  if (!allowed.includes(size))
    throw new EspFormatError(
      'bad_argument',
      `${chip.name} does not support a ${size / 1024} KB flash MMU page; use one of ${allowed.map((x) => `${x / 1024} KB`).join(', ')}.`,
    );
  return size;
}

interface WorkSegment {
  name: string;
  addr: number;
  data: Uint8Array;
}

function sameTypes(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** esptool's merge_adjacent_segments: join sections that touch and start in the same memory regions. */
function mergeAdjacent(chip: ChipInfo, segs: WorkSegment[]): WorkSegment[] {
  if (segs.length === 0) return segs;
  const out: WorkSegment[] = [];
  for (let i = segs.length - 1; i > 0; i--) {
    const elem = segs[i - 1];
    const next = segs[i];
    if (
      sameTypes(memoryTypes(chip, elem.addr), memoryTypes(chip, next.addr)) &&
      next.addr === elem.addr + elem.data.length
    ) {
      elem.data = concatBytes([elem.data, next.data]);
    } else {
      out.unshift(next);
    }
  }
  out.unshift(segs[0]);
  return out;
}

function byAddr(a: WorkSegment, b: WorkSegment): number {
  return a.addr - b.addr;
}

function moveToFront(list: WorkSegment[], name: string): void {
  const i = list.findIndex((s) => s.name === name);
  if (i > 0) list.unshift(...list.splice(i, 1));
}

/** Convert an ESP32-family ELF into a flashable app (or bootloader) image, like `esptool elf2image`. */
export function elfToAppImage(elfBytes: Uint8Array, opts: ElfToImageOptions): Uint8Array {
  const chip = CHIPS[opts.chip];
  if (!chip) throw new EspFormatError('unknown_chip', `Unknown chip '${String(opts.chip)}'.`);
  const elf = parseElf(elfBytes);
  if (elf.machine !== chip.architecture)
    throw new EspFormatError(
      'bad_argument',
      `The ELF is ${elf.machine === 'riscv' ? 'RISC-V' : 'Xtensa'} code but ${chip.name} is ${chip.architecture === 'riscv' ? 'RISC-V' : 'Xtensa'}; build for the right target.`,
    );

  let segs: WorkSegment[] = opts.useSegments
    ? elf.programHeaders
        .filter((p) => p.type === PT_LOAD && p.paddr !== 0 && p.fileSize > 0)
        .map((p) => ({ name: 'PHDR', addr: p.paddr, data: padTo(p.data.slice(), 4, 0) }))
    : elf.sections
        .filter(
          (s) =>
            (s.type === SHT_PROGBITS || s.type === SHT_INIT_ARRAY || s.type === SHT_FINI_ARRAY) &&
            s.addr !== 0 &&
            s.size > 0,
        )
        .map((s) => ({ name: s.name, addr: s.addr, data: padTo(s.data.slice(), 4, 0) }));
  if (segs.length === 0) throw new EspFormatError('bad_elf', 'The ELF has no loadable sections with an address.');

  let patchOffset: number | undefined;
  const want = opts.elfSha256Offset ?? 'auto';
  if (typeof want === 'number') patchOffset = want;
  else if (want === 'auto') {
    const appdesc = segs.find((s) => s.name.includes('.flash.appdesc'));
    if (appdesc && isFlashMapped(chip, appdesc.addr)) patchOffset = APP_ELF_SHA256_IMAGE_OFFSET;
  }
  const elfSha = patchOffset === undefined ? undefined : sha256(elfBytes);
  const pageSize = pageSizeFor(chip, opts.mmuPageSize ?? 'auto', segs.find((s) => s.name === '.flash.appdesc')?.data);

  segs = mergeAdjacent(chip, segs);
  if (segs.length > MAX_SEGMENTS)
    throw new EspFormatError(
      'too_many_segments',
      `The ELF has ${segs.length} separate loadable regions; an image holds at most 16. Merge sections in the linker script.`,
    );

  const flash = segs.filter((s) => isFlashMapped(chip, s.addr)).sort(byAddr);
  const ram = segs.filter((s) => !isFlashMapped(chip, s.addr)).sort(byAddr);
  // The app descriptor must be the first thing in the image (C6/H2 map DROM above IROM); the bootloader
  // descriptor likewise leads the RAM segments.
  moveToFront(flash, '.flash.appdesc');
  moveToFront(ram, '.dram0.bootdesc');
  for (let i = 1; i < flash.length; i++) {
    if (Math.floor(flash[i].addr / pageSize) === Math.floor(flash[i - 1].addr / pageSize))
      throw new EspFormatError(
        'segment_layout',
        `Segment at ${hex(flash[i].addr, 8)} lands in the same ${pageSize / 1024} KB flash page as the one at ${hex(flash[i - 1].addr, 8)}; merge these sections in the linker script${pageSize === IROM_ALIGN && MMU_PAGE_SIZES[chip.target] ? ', or pass the MMU page size the app was built for (CONFIG_MMU_PAGE_SIZE)' : ''}.`,
      );
  }

  const out: ImageSegment[] = [];
  let pos = IMAGE_HEADER_SIZE;
  const emit = (addr: number, data: Uint8Array): void => {
    let d = data;
    if (patchOffset !== undefined && elfSha && patchOffset >= pos && patchOffset < pos + d.length) {
      let at = patchOffset - pos;
      if (at < SEGMENT_HEADER_SIZE || at + 32 > d.length)
        throw new EspFormatError(
          'segment_layout',
          `Cannot place the ELF SHA-256 at ${hex(patchOffset)}: it straddles a segment boundary.`,
        );
      at -= SEGMENT_HEADER_SIZE;
      if (d.subarray(at, at + 32).some((b) => b !== 0))
        throw new EspFormatError(
          'segment_layout',
          `The 32 bytes at image offset ${hex(patchOffset)} are not zero; refusing to overwrite them with the ELF SHA-256.`,
        );
      d = d.slice();
      d.set(elfSha, at);
    }
    if (d.length % 4 !== 0)
      throw new EspFormatError('bad_segment', `Segment at ${hex(addr)} is ${d.length} bytes, not a multiple of 4.`);
    out.push({ loadAddress: addr, data: d });
    pos += SEGMENT_HEADER_SIZE + d.length;
  };
  const alignmentNeeded = (seg: WorkSegment): number => {
    const alignPast = (seg.addr % pageSize) - SEGMENT_HEADER_SIZE;
    let padLen = pageSize - (pos % pageSize) + alignPast;
    if (padLen === 0 || padLen === pageSize) return 0;
    padLen -= SEGMENT_HEADER_SIZE;
    if (padLen < 0) padLen += pageSize;
    return padLen;
  };

  // Place each flash segment so that its file offset and address agree modulo the page size, filling the gap with
  // pieces of RAM segments (or a zero segment at address 0), exactly as esptool does.
  while (flash.length > 0) {
    const seg = flash[0];
    const padLen = alignmentNeeded(seg);
    if (padLen > 0) {
      if (ram.length > 0 && padLen > SEGMENT_HEADER_SIZE) {
        const head = ram[0];
        const piece = head.data.subarray(0, padLen);
        emit(head.addr, piece);
        head.data = head.data.subarray(piece.length);
        head.addr += piece.length;
        if (head.data.length === 0) ram.shift();
      } else {
        emit(0, new Uint8Array(padLen));
      }
    } else {
      let data = seg.data;
      if (chip.target === 'esp32') {
        // esptool's workaround for an old ESP32 bootloader that did not map a final page entered by < 0x24 bytes.
        const rem = (pos + data.length + SEGMENT_HEADER_SIZE) % pageSize;
        if (rem < 0x24) data = concatBytes([data, new Uint8Array(0x24 - rem)]);
      }
      emit(seg.addr, data);
      flash.shift();
    }
  }
  for (const seg of ram) emit(seg.addr, seg.data);

  return writeAppImage({
    chip: opts.chip,
    flashMode: opts.flashMode,
    flashFreq: opts.flashFreq,
    flashSize: opts.flashSize,
    entry: elf.entry,
    segments: out,
    minRevision: opts.minRevision,
    maxRevision: opts.maxRevision,
    legacyMinRevision: opts.legacyMinRevision,
    hashAppended: opts.hashAppended,
  });
}
