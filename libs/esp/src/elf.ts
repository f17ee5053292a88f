import { readCString, view } from './bytes.js';
import { EspFormatError, hex } from './errors.js';

export const EM_XTENSA = 94;
export const EM_RISCV = 243;
export const SHT_PROGBITS = 1;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;
export const SHT_INIT_ARRAY = 14;
export const SHT_FINI_ARRAY = 15;
export const PT_LOAD = 1;

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  /** File contents (empty for NOBITS sections such as .bss). */
  data: Uint8Array;
}

export interface ElfProgramHeader {
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  fileSize: number;
  memSize: number;
  flags: number;
  data: Uint8Array;
}

export interface ElfFile {
  machine: 'xtensa' | 'riscv';
  machineId: number;
  entry: number;
  sections: ElfSection[];
  programHeaders: ElfProgramHeader[];
}

const EHDR_SIZE = 52;
const SHDR_SIZE = 40;
const PHDR_SIZE = 32;

function slice(bytes: Uint8Array, offset: number, size: number, what: string): Uint8Array {
  if (offset + size > bytes.length)
    throw new EspFormatError(
      'truncated',
      `ELF ${what} at ${hex(offset)} (+${size}) lies beyond the file's ${bytes.length} bytes.`,
    );
  return bytes.subarray(offset, offset + size);
}

/** Parse a little-endian ELF32 file for Xtensa or RISC-V (what ESP toolchains produce). */
export function parseElf(bytes: Uint8Array): ElfFile {
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
    throw new EspFormatError('bad_elf', 'Not an ELF file: it does not start with 0x7f "ELF".');
  if (bytes.length < EHDR_SIZE) throw new EspFormatError('truncated', 'ELF file is shorter than its 52-byte header.');
  if (bytes[4] !== 1)
    throw new EspFormatError('unsupported_elf', 'Only 32-bit ELF files are supported (ESP chips are 32-bit).');
  if (bytes[5] !== 1) throw new EspFormatError('unsupported_elf', 'Only little-endian ELF files are supported.');
  const dv = view(bytes);
  const machineId = dv.getUint16(18, true);
  if (machineId !== EM_XTENSA && machineId !== EM_RISCV)
    throw new EspFormatError(
      'unsupported_elf',
      `ELF machine ${machineId} is neither Xtensa (94) nor RISC-V (243); was it built with an ESP toolchain?`,
    );
  const entry = dv.getUint32(24, true);
  const phoff = dv.getUint32(28, true);
  const shoff = dv.getUint32(32, true);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  const shentsize = dv.getUint16(46, true);
  const shnum = dv.getUint16(48, true);
  const shstrndx = dv.getUint16(50, true);
  if (shnum === 0) throw new EspFormatError('bad_elf', 'ELF file has no section headers.');
  if (shentsize !== SHDR_SIZE)
    throw new EspFormatError('bad_elf', `ELF section header size is ${shentsize}, expected 40.`);
  if (phnum > 0 && phentsize !== PHDR_SIZE)
    throw new EspFormatError('bad_elf', `ELF program header size is ${phentsize}, expected 32.`);
  if (shstrndx >= shnum) throw new EspFormatError('bad_elf', `ELF names section index ${shstrndx} is out of range.`);

  const shdrs = slice(bytes, shoff, shnum * SHDR_SIZE, 'section headers');
  const sdv = view(shdrs);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const o = i * SHDR_SIZE;
    return {
      nameOff: sdv.getUint32(o, true),
      type: sdv.getUint32(o + 4, true),
      flags: sdv.getUint32(o + 8, true),
      addr: sdv.getUint32(o + 12, true),
      offset: sdv.getUint32(o + 16, true),
      size: sdv.getUint32(o + 20, true),
    };
  });
  const strtab = raw[shstrndx];
  const names = slice(bytes, strtab.offset, strtab.size, 'section names');
  const sections: ElfSection[] = raw.map((s, i) => ({
    name: s.nameOff < names.length ? readCString(names, s.nameOff, names.length - s.nameOff) : '',
    type: s.type,
    flags: s.flags,
    addr: s.addr,
    offset: s.offset,
    size: s.size,
    data: s.type === SHT_NOBITS || s.type === 0 ? new Uint8Array(0) : slice(bytes, s.offset, s.size, `section ${i}`),
  }));

  const programHeaders: ElfProgramHeader[] = [];
  if (phnum > 0) {
    const phdrs = slice(bytes, phoff, phnum * PHDR_SIZE, 'program headers');
    const pdv = view(phdrs);
    for (let i = 0; i < phnum; i++) {
      const o = i * PHDR_SIZE;
      const type = pdv.getUint32(o, true);
      const offset = pdv.getUint32(o + 4, true);
      const fileSize = pdv.getUint32(o + 16, true);
      programHeaders.push({
        type,
        offset,
        vaddr: pdv.getUint32(o + 8, true),
        paddr: pdv.getUint32(o + 12, true),
        fileSize,
        memSize: pdv.getUint32(o + 20, true),
        flags: pdv.getUint32(o + 24, true),
        data: type === PT_LOAD ? slice(bytes, offset, fileSize, `segment ${i}`) : new Uint8Array(0),
      });
    }
  }
  return { machine: machineId === EM_XTENSA ? 'xtensa' : 'riscv', machineId, entry, sections, programHeaders };
}
