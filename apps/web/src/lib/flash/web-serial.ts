import type { SerialPortLike } from '@aegis/flasher';

/** The slice of the Web Serial API we use (not in TypeScript's DOM library yet). */
interface SerialLike {
  requestPort(options?: { filters?: { usbVendorId?: number }[] }): Promise<SerialPortLike>;
  getPorts(): Promise<SerialPortLike[]>;
}

export const WEB_SERIAL_BROWSERS = 'Chrome, Edge or Opera on a desktop computer';

export function webSerial(): SerialLike | null {
  if (typeof navigator === 'undefined') return null;
  const s = (navigator as Navigator & { serial?: SerialLike }).serial;
  return s && typeof s.requestPort === 'function' ? s : null;
}

/** Why flashing a real board is impossible here, or null when Web Serial is available. */
export function webSerialProblem(): string | null {
  if (typeof window === 'undefined') return null;
  if (!window.isSecureContext)
    return 'Web Serial needs a secure page: open the dashboard over https (or on localhost).';
  if (!webSerial())
    return `This browser cannot talk to USB serial ports (it has no Web Serial). Use ${WEB_SERIAL_BROWSERS} to flash a board; builds, downloads and the virtual board work here too.`;
  return null;
}

/** Asks the user to pick a port (needs a click). A closed chooser is reported as a plain message. */
export async function pickSerialPort(): Promise<SerialPortLike> {
  const serial = webSerial();
  if (!serial) throw Object.assign(new Error(webSerialProblem() ?? 'No Web Serial.'), { code: 'no_web_serial' });
  try {
    return await serial.requestPort();
  } catch (e) {
    if ((e as Error).name === 'NotFoundError')
      throw Object.assign(new Error('No port was chosen. Plug the board in with a data USB cable and pick its port.'), {
        code: 'no_port',
      });
    throw e;
  }
}
