import { tarArchive, tarRecord } from '@aegis/esp';

/**
 * Archives for tests, with full control over entry names and types so hostile archives (`../`, absolute paths,
 * links, devices) can be made on purpose: libs/esp's unchecked `tarRecord`, the same header code as every other
 * archive of the repository.
 */
export interface TarEntry {
  name: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, '6' FIFO. */
  type?: '0' | '1' | '2' | '3' | '5' | '6';
  data?: Buffer | string;
  linkname?: string;
}

export function makeTar(entries: TarEntry[]): Buffer {
  const records = entries.flatMap((e) => {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const size = e.type && e.type !== '0' ? 0 : data.length;
    return tarRecord(
      { path: e.name, size, type: e.type, linkname: e.linkname, mtime: Date.now() / 1000 },
      size ? data : undefined,
    );
  });
  return Buffer.from(tarArchive(records));
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
