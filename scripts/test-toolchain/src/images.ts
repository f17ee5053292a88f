import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FlashFreq, FlashMode, FlashSize, Target } from '@aegis/protocol';
import { elfToAppImage } from '@aegis/esp/elf2image';
import {
  parsePartitionCsv,
  partitionsToBinary,
  partitionSubtypeName,
  partitionTypeName,
} from '@aegis/esp/partition-table';

export interface FlashSettings {
  mode: FlashMode;
  freq: FlashFreq;
  size: FlashSize;
}

/** `esptool.py elf2image`, done by libs/esp. */
export function elfToBin(chip: Target, elfFile: string, binFile: string, flash: FlashSettings): number {
  const image = elfToAppImage(new Uint8Array(readFileSync(elfFile)), {
    chip,
    flashMode: flash.mode,
    flashFreq: flash.freq,
    flashSize: flash.size,
  });
  mkdirSync(path.dirname(binFile), { recursive: true });
  writeFileSync(binFile, image);
  return image.length;
}

export interface PartitionInfo {
  name: string;
  type: string;
  subtype: string;
  offset: number;
  size: number;
}

/** `gen_esp32part.py`: CSV → binary partition table (with its MD5 entry), done by libs/esp. */
export function csvToPartitionTable(csvFile: string, binFile: string): PartitionInfo[] {
  const table = parsePartitionCsv(readFileSync(csvFile, 'utf8'));
  const bin = partitionsToBinary(table);
  mkdirSync(path.dirname(binFile), { recursive: true });
  writeFileSync(binFile, bin);
  return table.map((p) => ({
    name: p.name,
    type: partitionTypeName(p.type),
    subtype: partitionSubtypeName(p.type, p.subtype),
    offset: p.offset,
    size: p.size,
  }));
}
