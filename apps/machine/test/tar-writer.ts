/**
 * A tiny ustar writer for tests, with full control over entry names and types so hostile archives (`../`,
 * absolute paths, links, devices) can be made on purpose.
 */
export interface TarEntry {
  name: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, '6' FIFO. */
  type?: '0' | '1' | '2' | '3' | '5' | '6';
  data?: Buffer | string;
  linkname?: string;
}

function header(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0');
  put(e.name, 0, 100);
  put(oct(e.type === '5' ? 0o755 : 0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(Math.floor(Date.now() / 1000), 12), 136, 12);
  put('        ', 148, 8);
  put(e.type ?? '0', 156, 1);
  if (e.linkname) put(e.linkname, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

export function makeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const size = e.type && e.type !== '0' ? 0 : data.length;
    parts.push(header(e, size));
    if (size) {
      parts.push(data);
      parts.push(Buffer.alloc((512 - (size % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function fixtureProject(spec: {
  lines?: number;
  delayMs?: number;
  firmwareBytes?: number;
  fail?: boolean;
}): Buffer {
  return makeTar([
    { name: 'main/', type: '5' },
    { name: 'main/main.c', data: 'int main(void) { return 0; }\n' },
    { name: 'CMakeLists.txt', data: 'cmake_minimum_required(VERSION 3.16)\n' },
    { name: 'fixture.json', data: JSON.stringify(spec) },
  ]);
}
