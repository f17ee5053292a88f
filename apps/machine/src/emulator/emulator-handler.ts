import {
  EmulatorClientMessage,
  describeZodError,
  type EmulatedChip,
  type EmulatorExitReason,
  type EmulatorServerMessage,
} from '@aegis/protocol';
import type { LimitedSender, MessageChannelLike } from '@aegis/peer';
import type { Logger } from 'pino';
import type { BuildJob } from '../jobs/build-job.js';
import type { EmulatorService, QemuProcess, RunFlash } from './emulator-service.js';
import { EmulatorRefusal, chipOfMergedImage, isEmulatedChip, padImage, qemuFlashBytes } from './flash-image.js';
import { readJobImage } from './job-image.js';

const OUT_CHUNK = 16 * 1024;
/** UART output queued for the channel beyond which QEMU's stdout is no longer read (QEMU blocks), and where it resumes. */
export const EMULATOR_PAUSE_BYTES = 1024 * 1024;
const EMULATOR_RESUME_BYTES = 256 * 1024;
/** Input typed while QEMU is still starting waits here; past this it is refused. */
const MAX_PENDING_INPUT = 64 * 1024;
/**
 * `ready` goes out with QEMU's first UART byte (the chip's ROM prints at once on power-on); a QEMU that is up but
 * silent this long (an image whose ROM output is switched off) is announced anyway.
 */
export const READY_SILENT_MS = 5000;
/** How long UART output is gathered before it goes out as one message (see launch). */
const UART_COALESCE_MS = 4;

type StopReason = EmulatorExitReason | 'reset';

/** One `start` on the channel: from the image upload (if any) to its `exit` frame. */
interface Run {
  seconds: number;
  /** Client image being received: the bytes so far and how many are due. */
  upload?: { chunks: Buffer[]; got: number; want: number };
  chip?: EmulatedChip;
  flash?: RunFlash;
  flashBytes?: number;
  proc?: QemuProcess;
  stopReason?: StopReason;
  pending: Buffer[];
  pendingBytes: number;
  ended: boolean;
  timer?: NodeJS.Timeout;
  releaseSlot?: () => void;
  untrack?: () => void;
  /** The job's sandbox uid, held across resets. */
  lease?: () => void;
  /** `ready` was sent for the running QEMU: input goes straight to its UART from then on. */
  announced?: boolean;
}

/** The next run's sandbox, parked with the job's image already in its flash copy (EmulatorService.spawn). */
interface Spare {
  chip: EmulatedChip;
  flash: RunFlash;
  flashBytes: number;
  proc: QemuProcess;
}

/**
 * The job's firmware in QEMU on the `emulator` channel (libs/protocol emulator-channel.ts). Read-only towards the
 * job: it boots a copy of the job's merged image (or the client's), never touching the workspace, so attach
 * grants may use it. One emulator per channel at a time; each holds one of the machine's emulator slots until its
 * `exit`. It ends on `stop`, at its time limit, when the channel closes or the session ends (`signal`), and when
 * the job ends (the service's stopAll).
 *
 * While the job has a successful build and nothing runs, the channel keeps one spare: the next run's sandbox,
 * parked, on a fresh copy of the job's image. A `start` of the job's image then only has to let QEMU go. It is
 * made when the channel opens, when a build succeeds and after each run, and dropped when a build starts, the
 * channel closes or the job ends (it runs nothing and holds no emulator slot while parked).
 */
export function serveEmulator(o: {
  job: BuildJob;
  service: EmulatorService;
  channel: MessageChannelLike;
  sender: LimitedSender;
  log: Logger;
  /** Aborted when the peer connection ends. */
  signal?: AbortSignal;
}): void {
  const { job, service, channel, sender, log } = o;
  let run: Run | undefined;
  let closed = false;
  const send = (m: EmulatorServerMessage) => void sender.sendJson(m).catch(() => undefined);
  const refuse = (code: string, message: string) => send({ type: 'error', code, message });

  /** Ends the run for good: kill QEMU (its exit sends the frame) or, if none runs yet, send the frame now. */
  const stop = (r: Run, reason: EmulatorExitReason) => {
    // A stop during a reset wins: the restart does not happen.
    if (r.ended || (r.stopReason && r.stopReason !== 'reset')) return;
    r.stopReason = reason;
    if (r.proc) r.proc.kill();
    else if (!r.upload) {
      // still preparing: boot() notices stopReason once its awaits return
    } else void finish(r, reason, null);
  };

  const finish = async (r: Run, reason: EmulatorExitReason, code: number | null, detail?: string) => {
    if (r.ended) return;
    r.ended = true;
    clearTimeout(r.timer);
    r.releaseSlot?.();
    r.untrack?.();
    r.lease?.();
    if (run === r) run = undefined;
    await r.flash?.dispose().catch(() => undefined);
    send({ type: 'exit', reason, code, ...(detail ? { detail } : {}) });
    log.info({ reason, code }, 'emulator ended');
    parkSpare();
  };

  // The spare: `spare` is the one being made or parked; `spareGen` moves on whenever it is dropped, so a spare
  // still being made when the job's build changes is thrown away once done.
  let spare: Promise<Spare | undefined> | undefined;
  let spareGen = 0;
  const disposeSpare = (sp: Spare) => {
    sp.proc.kill();
    void sp.proc.exited.then(() => sp.flash.dispose()).catch(() => undefined);
  };
  const dropSpare = () => {
    const p = spare;
    spare = undefined;
    spareGen++;
    void p?.then((sp) => sp && disposeSpare(sp));
  };
  const jobImageRunnable = () => !closed && !job.isBuilding && job.state === 'succeeded';
  const parkSpare = () => {
    if (spare || run || !service.host || !jobImageRunnable()) return;
    const gen = spareGen;
    const making = (async (): Promise<Spare | undefined> => {
      await service.ready();
      const j = await readJobImage(job.workspaceDir);
      if (!service.emulates(j.target) || gen !== spareGen) return undefined;
      const chip = j.target as EmulatedChip;
      const padded = padImage(j.image, qemuFlashBytes(j.image.length, j.flashSize));
      const flash = await service.prepareFlash(job.workspaceDir, padded);
      let proc: QemuProcess;
      try {
        proc = await service.spawn({
          workspaceDir: job.workspaceDir,
          chip,
          qemu: service.qemuFor(chip, job.idfVersion)!,
          flash,
          memoryMb: job.params.memory_mb,
        });
      } catch (err) {
        await flash.dispose().catch(() => undefined);
        throw err;
      }
      const sp: Spare = { chip, flash, flashBytes: padded.length, proc };
      if (gen !== spareGen) return void disposeSpare(sp);
      // A spare that dies parked (killed from outside) is simply not there for the next start.
      void proc.exited.then(() => {
        if (spare === making && !proc.started) {
          spare = undefined;
          void sp.flash.dispose().catch(() => undefined);
        }
      });
      return sp;
    })().catch((err: Error) => {
      log.debug({ err: err.message }, 'no spare emulator sandbox');
      if (spare === making) spare = undefined;
      return undefined;
    });
    spare = making;
  };
  /** The parked spare for a run of the job's image, if one is (being) made and still alive. */
  const takeSpare = async (): Promise<Spare | undefined> => {
    const p = spare;
    spare = undefined;
    const sp = await p;
    if (!sp || sp.proc.ended) return void (sp && disposeSpare(sp));
    return sp;
  };

  /** Starts (or restarts, after reset) QEMU on the run's flash, in `parked` if given, and pipes the UART both ways. */
  const launch = async (r: Run, parked?: QemuProcess) => {
    const proc =
      parked ??
      (await service.spawn({
        workspaceDir: job.workspaceDir,
        chip: r.chip!,
        qemu: service.qemuFor(r.chip!, job.idfVersion)!,
        flash: r.flash!,
        memoryMb: job.params.memory_mb,
      }));
    r.proc = proc;
    r.announced = false;
    if (r.stopReason && r.stopReason !== 'reset') proc.kill();
    else proc.go(r.seconds);
    // `ready` means QEMU really runs: it comes with the first UART byte (before that byte on the channel), so a
    // client's clock for the boot starts where the board's does. Input typed meanwhile waits in `pending`.
    const announce = () => {
      clearTimeout(silent);
      if (r.announced || r.proc !== proc || r.stopReason) return;
      r.announced = true;
      send({ type: 'ready', chip: r.chip!, flash_bytes: r.flashBytes!, seconds: r.seconds });
      for (const b of r.pending) proc.child.stdin.write(b);
      r.pending = [];
      r.pendingBytes = 0;
    };
    const silent = setTimeout(announce, READY_SILENT_MS);
    // Output waits in the sender's queue at the channel's pace; past a bound QEMU's stdout is not read, so a
    // chatty firmware cannot grow the machine's memory.
    let inFlight = 0;
    let paused = false;
    const out = proc.child.stdout;
    const forward = (buf: Buffer) => {
      for (let i = 0; i < buf.length; i += OUT_CHUNK) {
        const chunk = buf.subarray(i, i + OUT_CHUNK);
        inFlight += chunk.length;
        void sender
          .send(chunk)
          .catch(() => undefined)
          .finally(() => {
            inFlight -= chunk.length;
            if (paused && inFlight <= EMULATOR_RESUME_BYTES) {
              paused = false;
              out.resume();
            }
          });
      }
      if (!paused && inFlight > EMULATOR_PAUSE_BYTES && !r.stopReason) {
        paused = true;
        out.pause();
      }
    };
    // QEMU writes its UART a byte at a time, so reads often hold a few bytes: a message each would spend the
    // channel's message rate and the peers' per-message work (SCTP, DTLS) on single bytes, which on a loaded
    // machine cost most of the boot time. Reads are gathered for UART_COALESCE_MS (or 16 KiB) into one message.
    let held: Buffer[] = [];
    let heldBytes = 0;
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      if (!heldBytes) return;
      const buf = held.length === 1 ? held[0] : Buffer.concat(held);
      held = [];
      heldBytes = 0;
      forward(buf);
    };
    out.on('data', (buf: Buffer) => {
      announce();
      held.push(buf);
      heldBytes += buf.length;
      if (heldBytes >= OUT_CHUNK) flush();
      else flushTimer ??= setTimeout(flush, UART_COALESCE_MS);
    });
    const { code, signal, stderr } = await proc.exited;
    clearTimeout(silent);
    // The last output goes before the `exit` frame.
    flush();
    r.proc = undefined;
    if (r.stopReason === 'reset') {
      r.stopReason = undefined;
      log.info('emulator reset');
      return launch(r);
    }
    const reason: EmulatorExitReason = r.stopReason ?? 'exited';
    const detail =
      reason === 'time_limit'
        ? `Stopped after ${r.seconds} s (the run's time limit).`
        : reason === 'exited'
          ? `QEMU ended (${signal ?? `exit ${code}`})${stderr.trim() ? `: ${stderr.trim().slice(0, 500)}` : '.'}`
          : undefined;
    await finish(r, reason, reason === 'exited' ? code : null, detail);
  };

  /** Checks and prepares the image, takes a slot and starts QEMU; a refusal ends the run with an `error`. */
  const boot = async (r: Run, clientImage?: Uint8Array) => {
    try {
      await service.ready();
      let image: Uint8Array | undefined;
      let chip: string | undefined;
      let flashSize;
      let sp: Spare | undefined;
      if (clientImage) {
        image = clientImage;
        chip = chipOfMergedImage(image);
        if (!chip)
          throw new EmulatorRefusal(
            'bad_image',
            'The image has no ESP32-C3 bootloader at 0x0 and no ESP32 bootloader at 0x1000: send a merged image ' +
              'from flash offset 0 (the build’s merged.bin, or esptool.py merge_bin output).',
          );
      } else {
        if (job.isBuilding || job.state !== 'succeeded')
          throw new EmulatorRefusal(
            'no_firmware',
            job.isBuilding
              ? 'A build of this job is running; start the emulator once it has finished.'
              : 'This job has no successful build to run; build it first (or send a flash image with start {image: "client"}).',
          );
        sp = await takeSpare();
        if (sp) chip = sp.chip;
        else {
          const j = await readJobImage(job.workspaceDir);
          image = j.image;
          chip = j.target;
          flashSize = j.flashSize;
        }
      }
      if (!isEmulatedChip(chip as never) || !service.qemuFor(chip as EmulatedChip)) {
        const chips = service.chips();
        throw new EmulatorRefusal(
          'chip_not_emulated',
          `This machine cannot emulate ${chip ?? 'this image'}; it emulates ${
            chips.length ? chips.join(' and ') : 'no chip (its store has no QEMU)'
          }.`,
        );
      }
      r.chip = chip as EmulatedChip;
      const padded = image && padImage(image, qemuFlashBytes(image.length, flashSize));
      const release = service.slots.tryAcquire();
      if (!release) {
        if (sp) disposeSpare(sp);
        throw new EmulatorRefusal(
          'emulator_busy',
          `All ${service.slots.max} emulator slots of this machine are in use; try again in a moment.`,
        );
      }
      r.releaseSlot = release;
      r.untrack = service.track({ jobId: job.id, stop: (reason) => stop(r, reason) });
      if (sp) {
        r.flash = sp.flash;
        r.flashBytes = sp.flashBytes;
      } else {
        r.flash = await service.prepareFlash(job.workspaceDir, padded!);
        r.flashBytes = padded!.length;
      }
      if (r.stopReason) {
        if (sp) disposeSpare(sp);
        return void (await finish(r, r.stopReason as EmulatorExitReason, null));
      }
      r.timer = setTimeout(() => stop(r, 'time_limit'), r.seconds * 1000);
      log.info({ chip: r.chip, flashBytes: r.flashBytes, seconds: r.seconds, warm: !!sp }, 'emulator starting');
      await launch(r, sp?.proc);
    } catch (err) {
      r.releaseSlot?.();
      r.untrack?.();
      r.lease?.();
      clearTimeout(r.timer);
      await r.flash?.dispose().catch(() => undefined);
      r.ended = true;
      if (run === r) run = undefined;
      parkSpare();
      if (err instanceof EmulatorRefusal) refuse(err.code, err.message);
      else {
        log.warn({ err: (err as Error).message }, 'emulator failed');
        refuse('emulator_failed', `The emulator could not run: ${(err as Error).message}`);
      }
    }
  };

  const onBinary = (data: Buffer) => {
    const r = run;
    if (!r || r.ended) return refuse('not_running', 'Start the emulator first with {"type":"start"}.');
    if (r.upload) {
      const u = r.upload;
      if (u.got + data.length > u.want) {
        run = undefined;
        r.ended = true;
        return refuse(
          'bad_image',
          `The image is longer than the ${u.want} bytes announced in image_bytes; start again with its exact size.`,
        );
      }
      u.chunks.push(data);
      u.got += data.length;
      if (u.got === u.want) {
        r.upload = undefined;
        void boot(r, new Uint8Array(Buffer.concat(u.chunks)));
      }
      return;
    }
    if (r.proc && r.announced && !r.stopReason) return void r.proc.child.stdin.write(data);
    if (r.pendingBytes + data.length > MAX_PENDING_INPUT)
      return refuse('input_overflow', 'The emulator is still starting; type again once its output appears.');
    r.pending.push(data);
    r.pendingBytes += data.length;
  };

  channel.onMessage((data) => {
    if (closed) return;
    if (typeof data !== 'string') return onBinary(data);
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return refuse('bad_frame', 'Control frames must be JSON: {"type":"start"|"reset"|"stop"}.');
    }
    const parsed = EmulatorClientMessage.safeParse(value);
    if (!parsed.success) return refuse('bad_frame', `Unknown control frame: ${describeZodError(parsed.error)}.`);
    const msg = parsed.data;
    if (msg.type === 'start') {
      if (run)
        return refuse(
          'already_running',
          'An emulator is already running on this channel; stop it before starting again.',
        );
      const r: Run = { seconds: Math.min(msg.seconds, service.maxSeconds), pending: [], pendingBytes: 0, ended: false };
      run = r;
      if (msg.image === 'client') r.upload = { chunks: [], got: 0, want: msg.image_bytes! };
      else void boot(r);
      return;
    }
    const r = run;
    if (msg.type === 'stop') {
      if (r) stop(r, 'stopped');
      return;
    }
    // reset: reboot on the same flash (what QEMU wrote to it stays, like a board's flash)
    if (!r?.proc || r.stopReason)
      return refuse('not_running', 'Nothing is running to reset; start the emulator first.');
    const proc = r.proc;
    r.stopReason = 'reset';
    // The job's uid is held from the first reset on: QEMU's exit must not be the workspace's last command, or the
    // sandbox would sweep the uid and drop its cgroup before the restart.
    void (async () => {
      if (!r.lease) r.lease = await service.hold(job.workspaceDir).catch(() => undefined);
      if (r.ended) r.lease?.();
      proc.kill();
    })();
  });

  // The spare goes with the job too (the machine's stopAll when the job ends or its results are removed).
  const untrackSpare = service.track({ jobId: job.id, stop: () => dropSpare() });
  const end = () => {
    if (closed) return;
    closed = true;
    dropSpare();
    untrackSpare();
    if (run) stop(run, 'stopped');
  };
  channel.onClose(end);
  if (o.signal?.aborted) end();
  else o.signal?.addEventListener('abort', end, { once: true });
  const offStatus = job.onStatus((s) => {
    if (s.state === 'canceled' && run) stop(run, 'job_ended');
    // A build that starts makes the spare's image stale; one that succeeded brings a new spare.
    if (jobImageRunnable()) parkSpare();
    else dropSpare();
  });
  channel.onClose(() => offStatus());
  parkSpare();
}
