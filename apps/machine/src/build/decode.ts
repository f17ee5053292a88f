import type { DecodedFrame } from '@aegis/protocol';

/** Parses `addr2line -pfiaC` output: one frame per asked address, `(inlined by)` lines folded away. */
export function parseAddr2line(stdout: string, addresses: string[]): DecodedFrame[] {
  const byAddr = new Map<string, DecodedFrame>();
  for (const line of stdout.split('\n')) {
    const m = /^(0x[0-9a-fA-F]+): (.*?) at (.*?):(\d+|\?)/.exec(line);
    if (!m) continue;
    const addr = BigInt(m[1]).toString(16);
    if (byAddr.has(addr)) continue;
    const fn = m[2] === '??' ? null : m[2];
    const file = m[3] === '??' ? null : m[3];
    const ln = m[4] === '?' ? 0 : Number(m[4]);
    byAddr.set(addr, { address: m[1], function: fn, file, line: file && ln > 0 ? ln : null });
  }
  // Answer with the address as it was asked for.
  return addresses.map((a) => {
    const f = byAddr.get(BigInt(a).toString(16));
    return f ? { ...f, address: a } : { address: a, function: null, file: null, line: null };
  });
}
