import { z } from 'zod';

/**
 * The `emulator` channel: the machine boots the job's firmware (or an image the client sends) in QEMU inside the
 * job's sandbox. Binary frames carry UART bytes both ways: from the machine, what the firmware prints; from the
 * client, what it types. Control messages are JSON text frames. One emulator runs per channel at a time.
 *
 * With `start {image: "client", image_bytes: N}` the first N binary bytes the client sends after `start` are the
 * flash image (a merged image at offset 0: an ESP32-C3 bootloader at 0x0 or an ESP32 one at 0x1000, which picks
 * the QEMU machine; padded by the machine to the next QEMU flash size); only then does the emulator boot and later
 * binary frames become UART input. An image without either bootloader is refused with `error {code: "bad_image"}`.
 */

/** Chips whose QEMU machine Aegis drives (`qemu-system-riscv32 -M esp32c3`, `qemu-system-xtensa -M esp32`). */
export const EmulatedChip = z.enum(['esp32c3', 'esp32']);
export type EmulatedChip = z.infer<typeof EmulatedChip>;

/** Longest run a client may ask for; the machine may lower it (its own cap, the job's time limit). */
export const EMULATOR_MAX_SECONDS = 3600;
export const EMULATOR_DEFAULT_SECONDS = 300;
/** Largest flash image QEMU takes (16 MiB flash). */
export const EMULATOR_MAX_IMAGE_BYTES = 16 * 1024 * 1024;

export const EmulatorClientMessage = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('start'),
      /** `job`: the job's own merged image (needs a successful build); `client`: bytes that follow. */
      image: z.enum(['job', 'client']).default('job'),
      image_bytes: z.number().int().min(1).max(EMULATOR_MAX_IMAGE_BYTES).optional(),
      seconds: z.number().int().min(1).max(EMULATOR_MAX_SECONDS).default(EMULATOR_DEFAULT_SECONDS),
    })
    .strict()
    .refine((m) => (m.image === 'client') === (m.image_bytes !== undefined), {
      message: 'image_bytes is required with image "client" and not allowed with image "job"',
    }),
  /** Reboot the board: the emulator restarts on the same flash (NVS and other writes survive, as on a board). */
  z.object({ type: z.literal('reset') }).strict(),
  z.object({ type: z.literal('stop') }).strict(),
]);
export type EmulatorClientMessage = z.input<typeof EmulatorClientMessage>;

export const EmulatorExitReason = z.enum([
  /** The client sent `stop` (or closed the channel). */
  'stopped',
  /** The run reached its `seconds`. */
  'time_limit',
  /** QEMU ended by itself. */
  'exited',
  /** The job ended or its results were removed. */
  'job_ended',
]);
export type EmulatorExitReason = z.infer<typeof EmulatorExitReason>;

export const EmulatorServerMessage = z.discriminatedUnion('type', [
  /**
   * QEMU really runs the image: sent with the first byte the emulated UART prints (the chip's ROM banner, at
   * power-on), just before that byte's frame, or after 5 s of a running but silent QEMU. Not sent when QEMU ends
   * before that (an `exit` tells why). Sent again at each reboot after `reset`. Input sent before it waits on the
   * machine and reaches the UART once it is sent.
   */
  z.object({
    type: z.literal('ready'),
    chip: EmulatedChip,
    flash_bytes: z.number().int().positive(),
    /** The time limit in force (the client's, lowered by the machine's cap). */
    seconds: z.number().int().positive(),
  }),
  z.object({
    type: z.literal('exit'),
    reason: EmulatorExitReason,
    code: z.number().int().nullable(),
    detail: z.string().optional(),
  }),
  /** A refused request (no successful build, chip not emulated, all emulator slots busy, bad frame…). */
  z.object({ type: z.literal('error'), code: z.string().min(1), message: z.string().min(1) }),
]);
export type EmulatorServerMessage = z.infer<typeof EmulatorServerMessage>;
