import { le32, u32 } from '@aegis/esp';

/** Command opcodes of the serial ROM loader and the flasher stub (esptool's names). */
export const Op = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  READ_FLASH_SLOW: 0x0e,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  // stub only
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE: 0xd3,
} as const;
export type OpName = keyof typeof Op;

const OP_NAMES = new Map<number, OpName>(Object.entries(Op).map(([k, v]) => [v, k as OpName]));
export function opName(op: number): string {
  return OP_NAMES.get(op) ?? `0x${op.toString(16).padStart(2, '0')}`;
}

/** Error codes in the second status byte. ROM codes per esptool's docs; stub codes from flasher_stub. */
export const RomError = {
  INVALID_MESSAGE: 0x05,
  FAILED_TO_ACT: 0x06,
  INVALID_CRC: 0x07,
  FLASH_WRITE_ERR: 0x08,
  FLASH_READ_ERR: 0x09,
  FLASH_READ_LENGTH_ERR: 0x0a,
  DEFLATE_ERR: 0x0b,
} as const;
export const StubError = {
  BAD_DATA_LEN: 0xc0,
  BAD_DATA_CHECKSUM: 0xc1,
  BAD_BLOCKSIZE: 0xc2,
  INVALID_COMMAND: 0xc3,
  FAILED_SPI_OP: 0xc4,
  NOT_IN_FLASH_MODE: 0xc6,
  INFLATE_ERROR: 0xc7,
  NOT_ENOUGH_DATA: 0xc8,
  TOO_MUCH_DATA: 0xc9,
  CMD_NOT_IMPLEMENTED: 0xff,
} as const;

/** GET_SECURITY_INFO flag bit: Secure Download Mode is enabled (esptool's SECURITY_INFO_FLAG_MAP). */
export const SECURITY_FLAG_SECURE_DOWNLOAD = 1 << 2;

/** The ROM commands Secure Download Mode still accepts; everything else is answered as unsupported. */
export const SECURE_DOWNLOAD_OPS: ReadonlySet<number> = new Set([
  Op.SYNC,
  Op.CHANGE_BAUDRATE,
  Op.FLASH_BEGIN,
  Op.FLASH_DATA,
  Op.FLASH_END,
  Op.FLASH_DEFL_BEGIN,
  Op.FLASH_DEFL_DATA,
  Op.FLASH_DEFL_END,
  Op.SPI_SET_PARAMS,
  Op.SPI_ATTACH,
  Op.GET_SECURITY_INFO,
]);

export const CHECKSUM_SEED = 0xef;
export const SYNC_PAYLOAD = new Uint8Array([0x07, 0x07, 0x12, 0x20, ...new Array<number>(32).fill(0x55)]);

export interface Request {
  op: number;
  checksum: number;
  data: Uint8Array;
}

/** Parse `00 op len16 chk32 data`. Returns null for anything that is not a well-formed request. */
export function parseRequest(frame: Uint8Array): Request | null {
  if (frame.length < 8 || frame[0] !== 0x00) return null;
  const len = frame[2] | (frame[3] << 8);
  if (frame.length < 8 + len) return null;
  return { op: frame[1], checksum: u32(frame, 4), data: frame.subarray(8, 8 + len) };
}

export function encodeRequest(op: number, data: Uint8Array = new Uint8Array(0), checksum = 0): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  out.set([0x00, op, data.length & 0xff, data.length >> 8, ...le32(checksum)]);
  out.set(data, 8);
  return out;
}

/** `01 op len16 val32 data status err [pad]` — statusLen is 4 in every ESP32-family ROM, 2 in the stub. */
export function encodeResponse(
  op: number,
  val: number,
  data: ArrayLike<number>,
  status: number,
  error: number,
  statusLen: 2 | 4,
): Uint8Array {
  const body = data.length + statusLen;
  const out = new Uint8Array(8 + body);
  out.set([0x01, op, body & 0xff, body >> 8, ...le32(val)]);
  out.set(data, 8);
  out[8 + data.length] = status;
  out[9 + data.length] = error;
  return out;
}

export function dataChecksum(data: Uint8Array): number {
  let c = CHECKSUM_SEED;
  for (const b of data) c ^= b;
  return c;
}
