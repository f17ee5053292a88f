import { access, constants } from 'node:fs/promises';
import { flash, monitor, type SerialPortLike } from '@aegis/flasher';
import { EspctlError } from '../errors.js';
import { NodeSerialPort } from './node-serial-port.js';
import type { FlashRunResult, SerialTools } from './serial-tools.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A clear error for a port that is not there or not ours, before the flasher reads it as "busy". */
async function checkPortPath(port: string): Promise<void> {
  if (!port.startsWith('/')) return;
  try {
    await access(port, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EspctlError(
      'serial_port_unavailable',
      code === 'ENOENT'
        ? `${port} cannot be opened: it does not exist; check the cable and the port name.`
        : `${port} cannot be opened: no permission (${code}); add your user to the dialout group.`,
    );
  }
}

/** Flasher errors (FlashError codes) become espctl errors with the same sentence. */
function asEspctl(err: unknown, port: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (err instanceof Error && typeof code === 'string') {
    return new EspctlError(code === 'port_busy' ? 'serial_port_busy' : `flash_${code}`, err.message);
  }
  if (err instanceof Error && /^Cannot open /.test(err.message)) {
    return new EspctlError(
      'serial_port_unavailable',
      `${port} cannot be opened: ${err.message.replace(/^Cannot open [^:]+: /, '')}`,
    );
  }
  return err;
}

/**
 * Serial flashing and monitoring with libs/flasher over Node serialport. Every call is bounded in time and
 * releases the port when it returns (also on errors and timeouts).
 */
export function createNodeSerialTools(
  openPort: (path: string) => SerialPortLike = (p) => new NodeSerialPort(p),
): SerialTools {
  return {
    async flash(o): Promise<FlashRunResult> {
      await checkPortPath(o.port);
      const port = openPort(o.port);
      const signal = AbortSignal.timeout(o.timeoutMs);
      try {
        const r = await flash({
          port,
          bundle: { manifestBytes: o.bundle.manifestBytes, jws: o.bundle.jws, files: o.bundle.files },
          trust: o.publicJwk
            ? {
                publicJwk: o.publicJwk as Parameters<typeof flash>[0]['trust'] extends infer T
                  ? T extends { publicJwk: infer K }
                    ? K
                    : never
                  : never,
              }
            : { allowUnsigned: true },
          baud: o.baud,
          diff: !o.erase,
          signal,
          onProgress: o.onProgress ? (p) => o.onProgress!(p.bytesWritten, p.total) : undefined,
        });
        return {
          chip: r.chip,
          bytes_written: r.parts.reduce((n, p) => n + p.bytesWritten, 0),
          sectors_written: r.parts.reduce((n, p) => n + p.sectorsWritten, 0),
          verified: true,
          signature: o.publicJwk ? 'verified' : 'unchecked',
          parts: r.parts.map((p) => ({ name: p.name, offset: p.offset, size: p.size, mode: p.mode })),
        };
      } catch (err) {
        if (signal.aborted)
          throw new EspctlError(
            'flash_timeout',
            `Flashing did not finish within ${o.timeoutMs / 1000} s; the port was released.`,
          );
        throw asEspctl(err, o.port);
      } finally {
        await port.close().catch(() => undefined);
      }
    },

    async monitor(o) {
      await checkPortPath(o.port);
      const port = openPort(o.port);
      const chunks: Uint8Array[] = [];
      let bytes = 0;
      let truncated = false;
      let stopNow: () => void = () => undefined;
      const full = new Promise<void>((r) => (stopNow = r));
      let session;
      try {
        session = await monitor(port, {
          baud: o.baud,
          reset: false,
          onData: (b) => {
            if (bytes >= o.maxBytes) return;
            const take = b.subarray(0, o.maxBytes - bytes);
            chunks.push(take);
            bytes += take.length;
            if (bytes >= o.maxBytes) {
              truncated = true;
              stopNow();
            }
          },
        });
      } catch (err) {
        await port.close().catch(() => undefined);
        throw asEspctl(err, o.port);
      }
      try {
        await Promise.race([sleep(o.durationMs), full]);
      } finally {
        await session.stop().catch(() => undefined);
        await port.close().catch(() => undefined);
      }
      const text = new TextDecoder().decode(Buffer.concat(chunks));
      return { text, bytes, truncated };
    },
  };
}
