import {
  bootAppPartition,
  CHIPS as ESP_CHIPS,
  EspFormatError,
  isFlashMapped,
  parsePartitionBinary,
  readAppImage,
  type AppImage,
  type Partition,
} from '@aegis/esp';
import type { ChipProfile } from './chip-profiles.js';
import type { FlashMemory } from './flash-memory.js';

export const PARTITION_TABLE_OFFSET = 0x8000;

export interface BootResult {
  /** What the ROM (after its banner) and the 2nd-stage bootloader print, CRLF line ends. */
  log: string;
  ok: boolean;
  app?: { offset: number; projectName?: string; version?: string; idfVersion?: string };
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/**
 * A normal (SPI flash) boot: the ROM loads the 2nd-stage bootloader, which reads the partition table, picks
 * the factory (or first OTA) app, checks it and starts it. Messages follow the real ROM and ESP-IDF v5
 * bootloader; a failure stops where the real chip would (the ROM would loop printing its error).
 */
export function bootFromFlash(chip: ChipProfile, flash: FlashMemory): BootResult {
  const lines: string[] = [];
  let t = 24;
  const log = (level: 'I' | 'E' | 'W', tag: string, text: string) => {
    lines.push(`${level} (${t}) ${tag}: ${text}`);
    t += 4 + (t % 5);
  };
  const done = (ok: boolean, app?: BootResult['app']): BootResult => ({ log: lines.join('\r\n') + '\r\n', ok, app });
  const espChip = ESP_CHIPS[chip.name];

  // ROM stage: the bootloader image.
  const blOffset = chip.bootloaderOffset;
  const bl = tryRead(flash, blOffset);
  if (!bl.image) {
    const word = flash.data[blOffset] | (flash.data[blOffset + 1] << 8);
    const w32 = (word | (flash.data[blOffset + 2] << 16) | (flash.data[blOffset + 3] << 24)) >>> 0;
    for (let i = 0; i < 3; i++) lines.push(`invalid header: 0x${hex8(w32)}`);
    return done(false);
  }
  if (!bl.image.checksum.valid) {
    lines.push(
      `Checksum failure. Calculated 0x${bl.image.checksum.computed.toString(16)} stored 0x${bl.image.checksum.stored.toString(16)}`,
    );
    lines.push('ets_main.c 333 ');
    return done(false);
  }
  for (const seg of bl.image.segments) {
    const len = chip.name === 'esp32' ? String(seg.data.length) : `0x${seg.data.length.toString(16)}`;
    if (!isFlashMapped(espChip, seg.loadAddress)) lines.push(`load:0x${hex8(seg.loadAddress)},len:${len}`);
  }
  lines.push(`entry 0x${hex8(bl.image.header.entry)}`);

  // 2nd-stage bootloader.
  const app0 = tryPartitions(flash);
  const idf = app0.appImage?.appDesc?.idfVersion ?? 'v5.1.2';
  log('I', 'boot', `ESP-IDF ${idf} 2nd stage bootloader`);
  log('I', 'boot', 'compile time Jan  1 2026 00:00:00');
  log('I', 'boot', `chip revision: ${chip.name === 'esp32' ? 'v3.0' : chip.name === 'esp32s3' ? 'v0.2' : 'v0.4'}`);
  const btag = `boot.${chip.name}`;
  log('I', btag, `SPI Speed      : ${bl.image.header.flashFreq.replace('m', 'MHz')}`);
  log('I', btag, `SPI Mode       : ${bl.image.header.flashMode.toUpperCase()}`);
  log('I', btag, `SPI Flash Size : ${bl.image.header.flashSize}`);
  log('I', 'boot', 'Enabling RNG early entropy source...');
  if (!app0.partitions) {
    const magic = flash.data[PARTITION_TABLE_OFFSET] | (flash.data[PARTITION_TABLE_OFFSET + 1] << 8);
    log('E', 'flash_parts', `partition 0 invalid magic number 0x${magic.toString(16)}`);
    log('E', 'boot', 'Failed to verify partition table');
    log('E', 'boot', 'load partition table error!');
    return done(false);
  }
  log('I', 'boot', 'Partition Table:');
  log('I', 'boot', '## Label            Usage          Type ST Offset   Length');
  app0.partitions.forEach((p, i) => {
    const usage = usageOf(p).padEnd(16);
    const row = `${String(i).padStart(2)} ${p.name.padEnd(16)} ${usage} ${p.type.toString(16).padStart(2, '0')} ${p.subtype.toString(16).padStart(2, '0')} ${hex8(p.offset)} ${hex8(p.size)}`;
    log('I', 'boot', row);
  });
  log('I', 'boot', 'End of partition table');
  const part = app0.appPartition;
  if (!part) {
    log('E', 'boot', 'No bootable app partitions in the partition table');
    return done(false);
  }
  const label = part.subtype === 0 ? 'Factory app' : `OTA app partition slot ${part.subtype - 0x10}`;
  const notBootable = () => {
    log('E', 'boot', `${label} partition is not bootable`);
    log('E', 'boot', 'No bootable app partitions in the partition table');
    return done(false, { offset: part.offset });
  };
  const app = app0.appImage;
  if (!app) {
    log('E', 'esp_image', `image at 0x${part.offset.toString(16)} has invalid magic byte (nothing flashed here?)`);
    return notBootable();
  }
  if (app.header.chipId !== chip.imageChipId) {
    log('E', 'boot_comm', `mismatch chip ID, expected ${chip.imageChipId}, found ${app.header.chipId}`);
    return notBootable();
  }
  let paddr = part.offset + 24;
  app.segments.forEach((seg, i) => {
    const kind = isFlashMapped(espChip, seg.loadAddress) ? 'map' : 'load';
    const size = seg.data.length;
    log(
      'I',
      'esp_image',
      `segment ${i}: paddr=${hex8(paddr + 8)} vaddr=${hex8(seg.loadAddress)} size=${size.toString(16).padStart(5, '0')}h (${String(size).padStart(6)}) ${kind}`,
    );
    paddr += 8 + size;
  });
  if (!app.checksum.valid) {
    log(
      'E',
      'esp_image',
      `Checksum failed. Calculated 0x${app.checksum.computed.toString(16)} read 0x${app.checksum.stored.toString(16)}`,
    );
    return notBootable();
  }
  if (app.sha256 && !app.sha256.valid) {
    log('E', 'esp_image', 'Image hash failed - image is corrupt');
    return notBootable();
  }
  log('I', 'boot', `Loaded app from partition at offset 0x${part.offset.toString(16)}`);
  log('I', 'boot', 'Disabling RNG early entropy source...');
  log('I', 'cpu_start', chip.name === 'esp32c3' ? 'Unicore app' : 'Multicore app');
  const d = app.appDesc;
  if (d) {
    log('I', 'app_init', 'Application information:');
    log('I', 'app_init', `Project name:     ${d.projectName}`);
    log('I', 'app_init', `App version:      ${d.version}`);
    log('I', 'app_init', `Compile time:     ${d.date} ${d.time}`);
    log('I', 'app_init', `ELF file SHA256:  ${d.elfSha256.slice(0, 16)}...`);
    log('I', 'app_init', `ESP-IDF:          ${d.idfVersion}`);
  }
  log('I', 'main_task', 'Started on CPU0');
  log('I', 'main_task', 'Calling app_main()');
  return done(true, {
    offset: part.offset,
    projectName: d?.projectName,
    version: d?.version,
    idfVersion: d?.idfVersion,
  });
}

function tryRead(flash: FlashMemory, offset: number): { image?: AppImage; error?: EspFormatError } {
  try {
    return { image: readAppImage(flash.data.subarray(offset)) };
  } catch (e) {
    if (e instanceof EspFormatError) return { error: e };
    throw e;
  }
}

function tryPartitions(flash: FlashMemory): {
  partitions?: Partition[];
  appPartition?: Partition;
  appImage?: AppImage;
} {
  let partitions: Partition[];
  try {
    const table = parsePartitionBinary(flash.data.subarray(PARTITION_TABLE_OFFSET, PARTITION_TABLE_OFFSET + 0xc00));
    if (table.partitions.length === 0 || table.md5Valid === false) return {};
    partitions = table.partitions;
  } catch (e) {
    if (e instanceof EspFormatError) return {};
    throw e;
  }
  const appPartition = bootAppPartition(partitions);
  if (!appPartition || !flash.inRange(appPartition.offset, 24)) return { partitions };
  const end = Math.min(flash.size, appPartition.offset + appPartition.size);
  const appImage = tryReadSlice(flash.data.subarray(appPartition.offset, end));
  return { partitions, appPartition, appImage };
}

function tryReadSlice(bytes: Uint8Array): AppImage | undefined {
  try {
    return readAppImage(bytes);
  } catch (e) {
    if (e instanceof EspFormatError) return undefined;
    throw e;
  }
}

function usageOf(p: Partition): string {
  if (p.type === 0) return p.subtype === 0 ? 'factory app' : p.subtype === 0x20 ? 'test app' : `OTA app`;
  const data: Record<number, string> = {
    0: 'OTA data',
    1: 'RF data',
    2: 'WiFi data',
    3: 'coredump',
    0x81: 'FAT',
    0x82: 'SPIFFS',
  };
  return data[p.subtype] ?? 'Unknown data';
}
