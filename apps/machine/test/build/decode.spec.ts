import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAddr2line } from '../../src/build/decode.js';

/** Real `addr2line -pfiaC` output of the kit's binutils on hello_world (libs/esp/test/fixtures/…/README.md). */
const FIXTURES = join(import.meta.dirname, '../../../../libs/esp/test/fixtures/idf-5.1.6-hello_world');
const read = (target: string, file: string) => readFileSync(join(FIXTURES, target, file), 'utf8');
const IDF = '/opt/esp-kit/esp-idf/components';

describe('decode through the real addr2line output', () => {
  it('esp32c3 (riscv32-esp-elf-addr2line): app_main lines, an inlined frame, an address without debug info', () => {
    const addresses = read('esp32c3', 'addr2line.args.txt').trim().split(/\s+/);
    expect(parseAddr2line(read('esp32c3', 'addr2line.stdout.txt'), addresses)).toEqual([
      { address: '0x420073f2', function: 'app_main', file: '/home/dev/hello_world/main/hello_world_main.c', line: 16 },
      { address: '0x420073f8', function: 'app_main', file: '/home/dev/hello_world/main/hello_world_main.c', line: 17 },
      // The innermost function is what runs at the address; its "(inlined by)" caller does not become a frame.
      {
        address: '0x4200aea0',
        function: 'clk_ll_rtc_slow_get_src',
        file: `${IDF}/hal/esp32c3/include/hal/clk_tree_ll.h`,
        line: 524,
      },
      { address: '0x00000010', function: null, file: null, line: null },
    ]);
  });

  it('esp32 (xtensa-esp32-elf-addr2line): three levels of inlining stay one frame per address, in order', () => {
    const addresses = read('esp32', 'addr2line.args.txt').trim().split(/\s+/);
    const frames = parseAddr2line(read('esp32', 'addr2line.stdout.txt'), addresses);
    expect(frames.map((f) => [f.address, f.function, f.line])).toEqual([
      ['0x400d566c', 'app_main', 16],
      ['0x400d5672', 'app_main', 17],
      ['0x400d5782', 'xt_utils_get_core_id', 36],
      ['0x400d33f4', 'efuse_ll_get_disable_app_cpu', 139],
      ['0x00000010', null, null],
    ]);
    expect(frames[2].file).toBe(`${IDF}/xtensa/include/xt_utils.h`);
  });

  it('answers with each address as it was asked (case, zero padding), unknown ones as null frames', () => {
    const out = read('esp32', 'addr2line.stdout.txt');
    expect(parseAddr2line(out, ['0x400D566C', '0x10', '0x400d0000'])).toEqual([
      { address: '0x400D566C', function: 'app_main', file: '/home/dev/hello_world/main/hello_world_main.c', line: 16 },
      { address: '0x10', function: null, file: null, line: null },
      { address: '0x400d0000', function: null, file: null, line: null },
    ]);
  });
});
