import { ClassicReset, CustomReset, UsbJtagSerialReset, validateCustomResetStringSequence } from 'esptool-js';
import type { Transport } from 'esptool-js';
import { FlashError } from './errors.js';
import { isUsbJtagSerial, type SerialPortLike } from './serial-port.js';

/**
 * How to put the chip into download mode:
 * - 'auto': USB-Serial-JTAG reset for VID 0x303a / PID 0x1001, else the classic DTR/RTS circuit;
 * - 'classic' / 'usb-jtag': force one;
 * - { sequence }: esptool's custom string, e.g. "D0|R1|W100|D1|R0|W50|D0".
 */
export type ResetStrategy = 'auto' | 'classic' | 'usb-jtag' | { sequence: string };

/**
 * Into the app after flashing: EN low for 100 ms with IO0 high. esptool-js's own `hard_reset` only releases
 * RTS and never asserts it, so the chip would stay in the stub; this is esptool.py's hard reset.
 *
 * Pulse widths are esptool.py's (esptool/reset.py, v4.x) and are not shortened for speed: ClassicReset holds
 * EN low 0.1 s, then releases it with IO0 low for reset_delay = DEFAULT_RESET_DELAY 0.05 s (a retry adds
 * 0.5 s: esptool-js's 50 / 550 ms pair); USBJTAGSerialReset steps 0.1 s each; HardReset holds EN low 0.1 s
 * (0.2 s before and after over USB-OTG, which this flasher does not target).
 */
export const HARD_RESET_SEQUENCE = 'D0|R1|W100|R0';

type ResetLike = { reset(): Promise<void> };
export interface ResetConstructors {
  classicReset?: (transport: Transport, resetDelay: number) => ResetLike;
  usbJTAGSerialReset?: (transport: Transport) => ResetLike;
}

/** esptool-js `before` mode plus reset constructors that realise the strategy. */
export function resetPlan(
  strategy: ResetStrategy,
  port: SerialPortLike,
): { mode: 'default_reset' | 'usb_reset'; constructors: ResetConstructors; kind: 'classic' | 'usb-jtag' | 'custom' } {
  if (typeof strategy === 'object') {
    if (!strategy.sequence || !validateCustomResetStringSequence(strategy.sequence)) {
      throw new FlashError(
        'bad_reset_sequence',
        `Reset sequence "${strategy.sequence}" is not valid: use D0/D1, R0/R1 and W<ms> joined by "|", e.g. "D0|R1|W100|D1|R0|W50|D0".`,
      );
    }
    const custom = (t: Transport) => new CustomReset(t, strategy.sequence);
    return {
      mode: 'default_reset',
      kind: 'custom',
      constructors: { classicReset: (t) => custom(t), usbJTAGSerialReset: (t) => custom(t) },
    };
  }
  const usb = strategy === 'usb-jtag' || (strategy === 'auto' && isUsbJtagSerial(port));
  if (usb) {
    // Also for esptool-js's own reconnect after a failed baud change, which asks for the classic one.
    const usbReset = (t: Transport) => new UsbJtagSerialReset(t);
    return {
      mode: 'usb_reset',
      kind: 'usb-jtag',
      constructors: { usbJTAGSerialReset: usbReset, classicReset: (t) => usbReset(t) },
    };
  }
  // Forced classic on a port that looks like USB-Serial-JTAG: make esptool-js use the classic one anyway.
  return {
    mode: 'default_reset',
    kind: 'classic',
    constructors: {
      classicReset: (t, delay) => new ClassicReset(t, delay),
      usbJTAGSerialReset: (t) => new ClassicReset(t, 50),
    },
  };
}
