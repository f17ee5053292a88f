import { ESPError, ESPLoader } from 'esptool-js';
import type { Target } from '@aegis/protocol';
import { fullWritePlan, padTo, planSectorDiff, type DiffPlan } from '@aegis/esp';
import { checkBundle, checkFits, type BundleTrust, type FlashBundleInput } from './bundle.js';
import { ESPTOOL_CHIP_NAMES, targetOfChipName } from './chip-names.js';
import { FlashError, isPortBusyError, portBusy } from './errors.js';
import { PartProgress, type ProgressListener } from './progress.js';
import { QuietTransport } from './quiet-transport.js';
import { Compressor } from './compressor.js';
import { writeCompressedRange } from './write-range.js';
import { changeBaudFast } from './baud-change.js';
import { detectChip } from './chip-detect.js';
import { withRegisterCache } from './register-cache.js';
import { withBatchedRegisterWrites } from './batched-writes.js';
import { deviceMd5Batch } from './md5-batch.js';
import { HostDigests } from './host-digests.js';
import { HARD_RESET_SEQUENCE, resetPlan, type ResetStrategy } from './reset-strategy.js';
import type { SerialPortLike } from './serial-port.js';

export interface FlashOptions {
  port: SerialPortLike;
  bundle: FlashBundleInput;
  trust: BundleTrust;
  /** Baud for the transfer (default 921600); falls back to romBaud when the link cannot carry it. */
  baud?: number;
  romBaud?: number;
  reset?: ResetStrategy;
  /** Write only the sectors that differ from what the board holds (default true). */
  diff?: boolean;
  /**
   * Compress whole parts in the background from the start, overlapping the connect handshake (default: when
   * `diff` is false). Worth it for a blank board; on a reflash the CPU is better left to the handshake.
   */
  precompress?: boolean;
  connectAttempts?: number;
  onProgress?: ProgressListener;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  now?: () => number;
}

export interface PartResult {
  name: string;
  offset: number;
  size: number;
  mode: DiffPlan['kind'];
  sectorsWritten: number;
  bytesWritten: number;
}

export interface FlashResult {
  chip: Target;
  chipDescription: string;
  flashSize: number;
  /** The baud the transfer actually ran at (romBaud after a fallback). */
  baud: number;
  resetKind: 'classic' | 'usb-jtag' | 'custom';
  parts: PartResult[];
  md5Requests: number;
  durationMs: number;
  /** Time from the first write command to the last verify (excludes connect and stub upload). */
  writeMs: number;
}

const DEFAULT_BAUD = 921600;
const ROM_BAUD = 115200;

/**
 * Flash a bundle in one loader session: check the bundle (sha256, signature, layout) before touching the
 * port, connect with the right reset, refuse a board of another chip or with too little flash, raise the baud
 * (and fall back to the ROM baud when the link cannot carry it), upload the stub, write only what differs
 * (compressed), verify every part by MD5, reset into the app, and close the port for a monitor to open.
 */
export async function flash(options: FlashOptions): Promise<FlashResult> {
  const now = options.now ?? (() => performance.now());
  const t0 = now();
  const { port, signal } = options;
  const baud = options.baud ?? DEFAULT_BAUD;
  const romBaud = options.romBaud ?? ROM_BAUD;
  const log = options.onLog ?? (() => {});

  const bundle = await checkBundle(options.bundle, options.trust);
  const plan = resetPlan(options.reset ?? 'auto', port);
  checkAbort(signal);
  if (port.readable || port.writable) throw portBusy();

  const transport = new QuietTransport(port);
  const loader = new ESPLoader({
    transport,
    baudrate: baud,
    romBaudrate: romBaud,
    terminal: { clean: () => {}, writeLine: (s: string) => log(s), write: (s: string) => log(s) },
    resetConstructors: plan.constructors as never,
  });
  // A full write compresses whole parts: start now, so it overlaps the connect handshake's waiting.
  const padded = new Map(bundle.parts.map((p) => [p, padTo(p.data, 4, 0xff)] as const));
  const compressor = new Compressor();
  if (options.precompress ?? options.diff === false) for (const data of padded.values()) compressor.start(data);
  const digests = new Map(bundle.parts.map((p) => [p, new HostDigests(padded.get(p)!)] as const));
  let wrote = false;
  try {
    try {
      const connecting = loader.connect(plan.mode, options.connectAttempts ?? 7, false);
      // The host-side MD5s, while the board is held in reset and synced (see HostDigests).
      for (const d of digests.values()) d.precompute(options.diff !== false).catch(() => {});
      await connecting;
      await detectChip(loader);
    } catch (e) {
      if (isPortBusyError(e)) throw portBusy();
      if (e instanceof ESPError) throw noSync(plan.kind);
      throw e;
    }
    const chipName = loader.chip.CHIP_NAME;
    const target = targetOfChipName(chipName);
    if (target !== bundle.manifest.chip) {
      throw new FlashError(
        'wrong_chip',
        `This bundle is built for ${ESPTOOL_CHIP_NAMES[bundle.manifest.chip]}, but the connected board is an ${chipName}; build for ${target ?? chipName} or connect the right board. Nothing was written.`,
      );
    }
    if ((loader as unknown as { secureDownloadMode?: boolean }).secureDownloadMode) {
      throw new FlashError(
        'secure_download_mode',
        `This ${chipName} is in Secure Download Mode (an eFuse was burnt): its ROM refuses the flasher stub, register reads and MD5 checks, so this flasher cannot write and verify it. Nothing was written. Flash it with \`esptool.py --chip ${target} --no-stub write_flash\` (no read-back or verification possible), or use a board without Secure Download Mode.`,
      );
    }
    checkAbort(signal);
    // The ROM understands CHANGE_BAUDRATE too: switching first makes the stub upload fast as well (with esptool's
    // ESP32 drift and ESP32-C2 26 MHz crystal corrections, see romBaudArgument).
    let linkBaud = romBaud;
    if (baud !== romBaud) {
      if (await changeBaudFast(loader, transport, baud, romBaud)) linkBaud = baud;
      else {
        // As esptool-js does: the link cannot carry that rate, so start over at the ROM baud.
        log(`Unable to use ${baud} baud. Continuing at ${romBaud} baud.`);
        await transport.disconnect();
        await loader.connect(plan.mode, options.connectAttempts ?? 7, false);
      }
    }
    // eFuse reads for the description and the stub choice: after the baud change (faster), each word once.
    const identity = new Map<number, number>();
    const chipDescription = await withRegisterCache(loader, identity, async () => {
      const description = await loader.chip.getChipDescription(loader);
      if (loader.chip.postConnect) await loader.chip.postConnect(loader);
      await loader.runStub();
      return description;
    });
    const sizeName = await withBatchedRegisterWrites(loader, () => loader.detectFlashSize());
    const flashSize = sizeName ? loader.flashSizeBytes(sizeName as Parameters<ESPLoader['flashSizeBytes']>[0]) : -1;
    if (flashSize <= 0) {
      throw new FlashError(
        'flash_failed',
        'The flash chip did not identify itself; check the board (flash power, wiring).',
      );
    }
    checkFits(bundle.parts, flashSize);

    const results: PartResult[] = [];
    let md5Requests = 0;
    const tWrite = now();
    for (const part of bundle.parts) {
      checkAbort(signal, wrote);
      const data = padded.get(part)!;
      const diffPlan: DiffPlan =
        options.diff === false
          ? fullWritePlan(data.length)
          : await planSectorDiff(data, part.offset, (ranges) => deviceMd5Batch(loader, transport, ranges), {
              hostMd5: digests.get(part)!.sectors,
            });
      md5Requests += diffPlan.md5Requests;
      if (diffPlan.kind !== 'full') compressor.drop(data);
      const ranges = diffPlan.ranges;
      const total = ranges.reduce((s, r) => s + (r.end - r.start), 0);
      const progress = new PartProgress(part.name, total, options.onProgress, now);
      if (ranges.length > 0) {
        wrote = true;
        const whole = ranges.length === 1 && ranges[0].start === 0 && ranges[0].end === data.length;
        try {
          for (const r of ranges) {
            const raw = whole ? data : data.subarray(r.start, r.end);
            const compressed = await compressor.take(raw);
            await writeCompressedRange(
              loader,
              part.offset + r.start,
              raw.length,
              compressed,
              (sent, of) => progress.range(r.end - r.start, sent, of),
              () => checkAbort(signal, true),
            );
          }
        } catch (e) {
          if (e instanceof FlashError) throw e;
          throw writeFailure(e, part.name);
        }
      }
      // An unchanged part was just confirmed by the planner's whole-part MD5; everything written is read back.
      if (diffPlan.kind !== 'unchanged') {
        md5Requests++;
        const [onDevice] = await deviceMd5Batch(loader, transport, [{ offset: part.offset, size: data.length }]);
        if (onDevice !== digests.get(part)!.whole()) {
          throw new FlashError(
            'verify_failed',
            `Part ${part.name} at 0x${part.offset.toString(16)} reads back with a different MD5; flash again, and if it persists the flash may be worn or write-protected.`,
            !wrote,
          );
        }
      }
      progress.finish();
      results.push({
        name: part.name,
        offset: part.offset,
        size: part.data.length,
        mode: diffPlan.kind,
        sectorsWritten: diffPlan.changedSectors,
        bytesWritten: total,
      });
    }
    const writeMs = now() - tWrite;
    await loader.after('custom_reset', undefined, HARD_RESET_SEQUENCE);
    return {
      chip: target,
      chipDescription,
      flashSize,
      baud: linkBaud,
      resetKind: plan.kind,
      parts: results,
      md5Requests,
      durationMs: now() - t0,
      writeMs,
    };
  } catch (e) {
    if (e instanceof FlashError) throw e;
    if (isAbort(e)) throw new FlashError('aborted', 'Flashing was cancelled.', !wrote);
    const why = e instanceof Error ? e.message : String(e);
    throw new FlashError('flash_failed', `Flashing failed: ${why}`, !wrote);
  } finally {
    compressor.cancel();
    for (const d of digests.values()) d.cancel();
    await release(transport, port);
  }
}

/** Close the port so the next user (a monitor) can open it; never throws. */
async function release(transport: QuietTransport, port: SerialPortLike): Promise<void> {
  if (!port.readable && !port.writable) return;
  try {
    await transport.disconnect();
  } catch {
    try {
      await port.close();
    } catch {
      // nothing more to do: the port is gone
    }
  }
}

function noSync(kind: string): FlashError {
  const how =
    kind === 'usb-jtag'
      ? 'unplug and replug the board while holding BOOT'
      : 'hold BOOT (IO0), press and release RESET (EN), then release BOOT';
  return new FlashError(
    'no_sync',
    `The board did not answer in download mode; ${how} and try again (also check the USB cable carries data and the right port is chosen).`,
  );
}

function writeFailure(e: unknown, part: string): FlashError {
  const why = e instanceof Error ? e.message : String(e);
  if (/MD5/i.test(why)) {
    return new FlashError('verify_failed', `Part ${part} did not verify after writing (${why}); flash again.`, false);
  }
  return new FlashError('flash_failed', `Writing part ${part} failed: ${why}`, false);
}

function checkAbort(signal: AbortSignal | undefined, wrote = false): void {
  if (signal?.aborted) throw new FlashError('aborted', 'Flashing was cancelled.', !wrote);
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}
