/**
 * Code addresses worth decoding in a panic: Xtensa `Backtrace: 0xPC:0xSP …` (the PCs), and RISC-V register
 * dumps (`MEPC : 0x…`, `RA : 0x…`) plus the stack words that look like code addresses (0x4…).
 */
export function backtraceAddresses(text: string): string[] {
  const out: string[] = [];
  const add = (a: string) => {
    const v = `0x${a.toLowerCase().replace(/^0x/, '').padStart(8, '0')}`;
    if (!out.includes(v) && v !== '0x00000000') out.push(v);
  };
  for (const m of text.matchAll(/Backtrace:((?:\s*0x[0-9a-fA-F]{8}:0x[0-9a-fA-F]{8})+)/g))
    for (const p of m[1].matchAll(/0x([0-9a-fA-F]{8}):0x[0-9a-fA-F]{8}/g)) add(p[1]);
  for (const m of text.matchAll(/\b(?:MEPC|RA|PC)\s*:\s*0x([0-9a-fA-F]{8})/g)) if (/^4[02]/.test(m[1])) add(m[1]);
  return out.slice(0, 64);
}
