import { md5 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

export function md5Hex(bytes: Uint8Array): string {
  return toHex(md5(bytes));
}

export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of chunks) len += c.length;
  const out = new Uint8Array(len);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A NUL-terminated (or field-filling) ASCII/UTF-8 string from a fixed-size field. */
export function readCString(bytes: Uint8Array, offset: number, length: number): string {
  const field = bytes.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}

/** Write `text` into a fixed-size field, NUL padded; longer text is cut to the field. */
export function writeCString(target: Uint8Array, offset: number, length: number, text: string): void {
  const encoded = new TextEncoder().encode(text).subarray(0, length);
  target.fill(0, offset, offset + length);
  target.set(encoded, offset);
}

export function padTo(bytes: Uint8Array, alignment: number, fill: number): Uint8Array {
  const rem = bytes.length % alignment;
  if (rem === 0) return bytes;
  const out = new Uint8Array(bytes.length + alignment - rem).fill(fill);
  out.set(bytes);
  return out;
}

/** Little-endian u32 at `offset`. */
export function u32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

/** `v` as 4 little-endian bytes. */
export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
