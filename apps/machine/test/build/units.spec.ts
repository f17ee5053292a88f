import { describe, expect, it } from 'vitest';
import type { StoreManifest } from '@aegis/protocol';
import { parseAddr2line } from '../../src/build/decode.js';
import { resolveIdfVersion, resolveTarget, type ProjectSettings } from '../../src/build/project-settings.js';
import { LineSplitter } from '../../src/sandbox/line-splitter.js';
import { UidPool } from '../../src/sandbox/uid-pool.js';
import type { Store } from '../../src/store/store.js';

const v = (
  version: string,
  extra: Partial<StoreManifest['versions'][number]> = {},
): StoreManifest['versions'][number] => ({
  version,
  path: `idf/${version}`,
  default: false,
  targets: ['esp32', 'esp32c3'],
  tools: [],
  ...extra,
});
const store: Store = { root: '/s', manifest: { v: 1, versions: [v('5.2.2'), v('5.3.1', { default: true })] } };
const settings = (s: Partial<ProjectSettings> = {}): ProjectSettings => ({ name: 'p', ...s });

describe('IDF version and target resolution', () => {
  it('request → .idf-version → .espctl.toml → store default, with or without a leading v', () => {
    expect(resolveIdfVersion(store, undefined, settings()).version).toBe('5.3.1');
    expect(resolveIdfVersion(store, 'v5.2.2', settings()).version).toBe('5.2.2');
    expect(resolveIdfVersion(store, undefined, settings({ idfVersionFile: '5.2.2' })).version).toBe('5.2.2');
    expect(resolveIdfVersion(store, undefined, settings({ toml: { build: { idf_version: '5.2.2' } } })).version).toBe(
      '5.2.2',
    );
    // the request wins over the files
    expect(resolveIdfVersion(store, '5.3.1', settings({ idfVersionFile: '5.2.2' })).version).toBe('5.3.1');
    expect(() => resolveIdfVersion(store, '6.0', settings())).toThrow(
      /ESP-IDF 6\.0 \(from the build request\).*available: 5\.2\.2, 5\.3\.1/,
    );
  });

  it('request → .espctl.toml → sdkconfig → esp32 (or the first target)', () => {
    const idf = v('5.3.1');
    expect(resolveTarget(idf, undefined, settings())).toBe('esp32');
    expect(resolveTarget(v('t', { targets: ['esp32c3', 'esp32c6'] }), undefined, settings())).toBe('esp32c3');
    expect(resolveTarget(idf, undefined, settings({ sdkconfigTarget: 'esp32c3' }))).toBe('esp32c3');
    expect(
      resolveTarget(idf, undefined, settings({ toml: { build: { target: 'esp32' } }, sdkconfigTarget: 'esp32c3' })),
    ).toBe('esp32');
    expect(() => resolveTarget(idf, 'esp32s3', settings())).toThrow(
      /esp32s3 \(from the build request\).*esp32, esp32c3/,
    );
    expect(() => resolveTarget(idf, undefined, settings({ sdkconfigTarget: 'esp8266' }))).toThrow(
      /esp8266 \(from sdkconfig\)/,
    );
  });
});

describe('addr2line output', () => {
  it('one frame per address; inlined-by lines and unknowns handled', () => {
    const out = [
      '0x40380010: app_main at /ws/project/main/main.c:8',
      ' (inlined by) helper at /ws/project/main/main.c:3',
      '0x4038001c: ?? ??:0',
      '0x40380020: start_cpu0_c at /s/idf/x/components/esp_system/startup.c:? (discriminator 1)',
    ].join('\n');
    expect(parseAddr2line(out, ['0x40380010', '0x4038001C', '0x40380020', '0x40380099'])).toEqual([
      { address: '0x40380010', function: 'app_main', file: '/ws/project/main/main.c', line: 8 },
      { address: '0x4038001C', function: null, file: null, line: null },
      { address: '0x40380020', function: 'start_cpu0_c', file: '/s/idf/x/components/esp_system/startup.c', line: null },
      { address: '0x40380099', function: null, file: null, line: null },
    ]);
  });
});

describe('line splitter', () => {
  it('splits across chunks, strips CR, flushes the tail, caps endless lines', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push(Buffer.from('a\r\nb'));
    s.push(Buffer.from('c\nd'));
    s.flush();
    expect(lines).toEqual(['a', 'bc', 'd']);
    const long: string[] = [];
    const t = new LineSplitter((l) => long.push(l));
    t.push(Buffer.alloc(40 * 1024, 'x'));
    // Pieces of MAX_LOG_LINE_CHARS (8 Ki); the last 8 Ki wait for a newline or flush.
    expect(long.length).toBe(4);
    expect(long[0].length).toBe(8 * 1024);
  });
});

describe('uid pool', () => {
  it('a job shares one uid; a released uid is not reused until freed', () => {
    const pool = new UidPool(70000, 2);
    const a = pool.acquire('job-a');
    expect(a).toEqual({ uid: 70000, fresh: true });
    expect(pool.acquire('job-a')).toEqual({ uid: 70000, fresh: false });
    expect(pool.acquire('job-b').uid).toBe(70001);
    expect(pool.release('job-a')).toBeUndefined();
    expect(pool.release('job-a')).toBe(70000);
    expect(() => pool.acquire('job-c')).toThrow(/in use/);
    pool.free(70000);
    expect(pool.acquire('job-c').uid).toBe(70000);
  });
});
