// pako is CommonJS: a default import works in Node ESM and in bundlers alike.
import pako from 'pako';
import { md5 } from '@noble/hashes/legacy.js';
import { bytesEqual, le32, toHex, u32 } from '@aegis/esp';
import type { ChipProfile } from './chip-profiles.js';
import { jedecId } from './chip-profiles.js';
import { SECTOR_SIZE, type FlashMemory } from './flash-memory.js';
import {
  dataChecksum,
  encodeResponse,
  Op,
  opName,
  parseRequest,
  RomError,
  SECURE_DOWNLOAD_OPS,
  SECURITY_FLAG_SECURE_DOWNLOAD,
  StubError,
  SYNC_PAYLOAD,
} from './rom-protocol.js';
import { slipEncode } from './slip.js';

const utf8 = new TextEncoder();

/** What the loader needs from the device around it. */
export interface LoaderHost {
  readonly chip: ChipProfile;
  readonly flash: FlashMemory;
  readonly registers: Map<number, number>;
  baud: number;
  /** The board's crystal (the UART clock divider esptool reads is derived from it). */
  readonly xtalHz: number;
  /** The ROM refuses everything but flashing and identification (eFuse SECURE_DOWNLOAD_ENABLE). */
  readonly secureDownloadMode: boolean;
  /** Queue raw bytes on the UART towards the host. */
  transmit(bytes: Uint8Array): void;
  /**
   * Switch the UART to a new rate once what is queued has been sent. `byStub`: the stub computes the divider
   * from the real clock; the ROM from the crystal it assumes, so its rate may land elsewhere.
   */
  changeBaud(baud: number, byStub: boolean): void;
  /** Leave the loader: 'reboot' is a software reset (back into download mode), 'run' jumps to the app in flash. */
  exit(how: 'reboot' | 'run'): void;
  log(op: string): void;
}

interface FlashWrite {
  offset: number;
  size: number;
  pos: number;
  nextSeq: number;
  inflate?: pako.Inflate;
  error?: number;
}

interface FlashRead {
  offset: number;
  length: number;
  packet: number;
  maxInFlight: number;
  sent: number;
  acked: number;
}

const SPI_CMD_USR = 1 << 18;
const MD5_FAIL = 0xff;
/** READ_FLASH_SLOW reads at most this much per command and always answers with a buffer this long. */
const READ_SLOW_BLOCK = 64;

/**
 * The serial loader as the ROM runs it, and as the flasher stub runs it after MEM_END: one request in, one
 * response out. The stub differs in its status length, its SPI_FLASH_MD5 encoding (raw vs hex), the
 * stub-only commands and FLASH_DEFL_BEGIN's size semantics (handled by the host side).
 */
export class LoaderSession {
  stub = false;
  private write?: FlashWrite;
  private read?: FlashRead;
  private mem?: { size: number; received: number; nextSeq: number };
  private flashSizeParam?: number;

  constructor(private readonly host: LoaderHost) {}

  handleFrame(frame: Uint8Array): void {
    if (this.read) {
      // During READ_FLASH the host only sends 4-byte acks.
      if (frame.length === 4) this.onReadAck(u32(frame, 0));
      return;
    }
    const req = parseRequest(frame);
    if (!req) return; // the ROM ignores malformed frames
    this.host.log(opName(req.op));
    if (!this.stub && this.host.secureDownloadMode && !SECURE_DOWNLOAD_OPS.has(req.op)) {
      return this.unsupported(req.op);
    }
    this.dispatch(req.op, req.data, req.checksum);
  }

  private dispatch(op: number, d: Uint8Array, chk: number): void {
    const { chip, flash } = this.host;
    switch (op) {
      case Op.SYNC: {
        if (!bytesEqual(d, SYNC_PAYLOAD)) return this.fail(op, RomError.INVALID_MESSAGE);
        // Eight answers from both; the stub's carry val 0, which is how esptool tells it is already running.
        for (let i = 0; i < 8; i++) this.ok(op, this.stub ? 0 : 0x20120707);
        return;
      }
      case Op.READ_REG:
        if (d.length < 4) return this.fail(op, RomError.INVALID_MESSAGE);
        return this.ok(op, this.readReg(u32(d, 0)));
      case Op.WRITE_REG:
        if (d.length < 16 || d.length % 16 !== 0) return this.fail(op, RomError.INVALID_MESSAGE);
        for (let i = 0; i < d.length; i += 16) this.writeReg(u32(d, i), u32(d, i + 4), u32(d, i + 8));
        return this.ok(op);
      case Op.SPI_ATTACH:
        return this.ok(op);
      case Op.SPI_SET_PARAMS:
        if (d.length < 24) return this.fail(op, RomError.INVALID_MESSAGE);
        this.flashSizeParam = u32(d, 4);
        return this.ok(op);
      case Op.CHANGE_BAUDRATE: {
        if (d.length < 8) return this.fail(op, RomError.INVALID_MESSAGE);
        this.ok(op);
        this.host.changeBaud(u32(d, 0), this.stub);
        return;
      }
      case Op.GET_SECURITY_INFO: {
        if (chip.securityChipId === null) return this.unsupported(op);
        const flags = this.host.secureDownloadMode ? SECURITY_FLAG_SECURE_DOWNLOAD : 0;
        // flags, flash_crypt_cnt, 7 key purposes [, chip_id, api_version] (the ESP32-S2 ROM stops after the keys)
        const info = [...le32(flags), 0, ...new Array<number>(7).fill(0), ...le32(chip.securityChipId), ...le32(0)];
        return this.ok(op, 0, info.slice(0, chip.securityInfoLen));
      }
      case Op.READ_FLASH_SLOW: {
        if (this.stub) return this.unsupported(op);
        if (d.length < 8) return this.fail(op, RomError.INVALID_MESSAGE);
        const [offset, length] = [u32(d, 0), u32(d, 4)];
        if (length > READ_SLOW_BLOCK || !flash.inRange(offset, length)) return this.fail(op, RomError.FLASH_READ_ERR);
        const block = new Uint8Array(READ_SLOW_BLOCK);
        block.set(flash.data.subarray(offset, offset + length));
        return this.ok(op, 0, block);
      }
      case Op.MEM_BEGIN:
        if (d.length < 16) return this.fail(op, RomError.INVALID_MESSAGE);
        this.mem = { size: u32(d, 0), received: 0, nextSeq: 0 };
        return this.ok(op);
      case Op.MEM_DATA: {
        const block = this.dataBlock(op, d, chk);
        if (!block) return;
        if (!this.mem || block.seq !== this.mem.nextSeq) return this.fail(op, RomError.FAILED_TO_ACT);
        this.mem.nextSeq++;
        this.mem.received += block.payload.length;
        return this.ok(op);
      }
      case Op.MEM_END: {
        if (d.length < 8) return this.fail(op, RomError.INVALID_MESSAGE);
        const execute = u32(d, 0) === 0;
        const entry = u32(d, 4);
        this.ok(op);
        // The uploaded program is the flasher stub: it greets with "OHAI" and from then on speaks stub.
        if (execute && entry !== 0) {
          this.stub = true;
          this.mem = undefined;
          this.host.transmit(slipEncode(utf8.encode('OHAI')));
        }
        return;
      }
      case Op.FLASH_BEGIN:
      case Op.FLASH_DEFL_BEGIN:
        return this.flashBegin(op, d);
      case Op.FLASH_DATA:
      case Op.FLASH_DEFL_DATA:
        return this.flashData(op, d, chk);
      case Op.FLASH_END:
      case Op.FLASH_DEFL_END: {
        const w = this.write;
        if (this.stub && w && w.inflate && w.pos < w.offset + w.size && op === Op.FLASH_DEFL_END) {
          this.write = undefined;
          return this.fail(op, StubError.NOT_ENOUGH_DATA);
        }
        this.write = undefined;
        const stay = d.length >= 4 ? u32(d, 0) !== 0 : true;
        this.ok(op);
        // FLASH_END(0) reboots; in the ROM, FLASH_END(1) "runs user code"; the stub stays.
        if (!stay) this.host.exit('reboot');
        else if (!this.stub) this.host.exit('run');
        return;
      }
      case Op.SPI_FLASH_MD5: {
        if (d.length < 16) return this.fail(op, RomError.INVALID_MESSAGE);
        const addr = u32(d, 0);
        const size = u32(d, 4);
        if (!flash.inRange(addr, size)) return this.fail(op, this.stub ? MD5_FAIL : RomError.FLASH_READ_ERR);
        const digest = md5(flash.data.subarray(addr, addr + size));
        return this.ok(op, 0, this.stub ? digest : utf8.encode(toHex(digest)));
      }
      case Op.ERASE_FLASH:
        if (!this.stub) return this.unsupported(op);
        flash.eraseAll();
        return this.ok(op);
      case Op.ERASE_REGION: {
        if (!this.stub) return this.unsupported(op);
        const offset = u32(d, 0);
        const size = u32(d, 4);
        if (offset % SECTOR_SIZE !== 0 || size % SECTOR_SIZE !== 0 || !flash.inRange(offset, size)) {
          return this.fail(op, StubError.BAD_DATA_LEN);
        }
        flash.eraseRange(offset, size);
        return this.ok(op);
      }
      case Op.READ_FLASH: {
        if (!this.stub) return this.unsupported(op);
        if (d.length < 16) return this.fail(op, StubError.BAD_DATA_LEN);
        const [offset, length, packet, maxInFlight] = [u32(d, 0), u32(d, 4), u32(d, 8), u32(d, 12)];
        if (!flash.inRange(offset, length) || packet === 0) return this.fail(op, StubError.BAD_DATA_LEN);
        this.ok(op);
        this.read = { offset, length, packet, maxInFlight: Math.max(1, maxInFlight), sent: 0, acked: 0 };
        this.pumpRead();
        return;
      }
      default:
        return this.unsupported(op);
    }
  }

  private flashBegin(op: number, d: Uint8Array): void {
    const { flash } = this.host;
    if (d.length < 16) return this.fail(op, RomError.INVALID_MESSAGE);
    const size = u32(d, 0);
    const offset = u32(d, 12);
    if (!flash.inRange(offset, size)) return this.fail(op, this.stub ? StubError.BAD_DATA_LEN : RomError.FAILED_TO_ACT);
    // Both ROM and stub erase the region up front (the stub erases ahead while writing; the sectors are the
    // same). The ROM's size for FLASH_DEFL_BEGIN is already rounded up to whole blocks by the host.
    flash.eraseRange(offset, size);
    const w: FlashWrite = { offset, size, pos: offset, nextSeq: 0 };
    if (op === Op.FLASH_DEFL_BEGIN) {
      const inflate = new pako.Inflate();
      inflate.onData = (chunk: Uint8Array) => {
        if (w.error !== undefined) return;
        if (w.pos + chunk.length > w.offset + w.size) {
          w.error = StubError.TOO_MUCH_DATA;
          return;
        }
        flash.program(w.pos, chunk);
        w.pos += chunk.length;
      };
      w.inflate = inflate;
    }
    this.write = w;
    this.ok(op);
  }

  private flashData(op: number, d: Uint8Array, chk: number): void {
    const block = this.dataBlock(op, d, chk);
    if (!block) return;
    const w = this.write;
    const compressed = op === Op.FLASH_DEFL_DATA;
    if (!w || compressed !== !!w.inflate)
      return this.fail(op, this.stub ? StubError.NOT_IN_FLASH_MODE : RomError.FAILED_TO_ACT);
    if (block.seq !== w.nextSeq) return this.fail(op, this.stub ? StubError.BAD_DATA_LEN : RomError.FAILED_TO_ACT);
    w.nextSeq++;
    if (w.inflate) {
      w.inflate.push(block.payload, false);
      if (w.inflate.err) w.error = this.stub ? StubError.INFLATE_ERROR : RomError.DEFLATE_ERR;
    } else {
      const room = w.offset + w.size - w.pos;
      const part = block.payload.subarray(0, Math.max(0, Math.min(room, block.payload.length)));
      this.host.flash.program(w.pos, part);
      w.pos += block.payload.length;
    }
    if (w.error !== undefined) {
      const err = w.error;
      this.write = undefined;
      return this.fail(op, err);
    }
    this.ok(op);
  }

  /** `[len, seq, 0, 0, payload]` with the XOR checksum in the header. */
  private dataBlock(op: number, d: Uint8Array, chk: number): { seq: number; payload: Uint8Array } | null {
    if (d.length < 16) {
      this.fail(op, this.stub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE);
      return null;
    }
    const len = u32(d, 0);
    const payload = d.subarray(16);
    if (payload.length !== len) {
      this.fail(op, this.stub ? StubError.BAD_DATA_LEN : RomError.INVALID_MESSAGE);
      return null;
    }
    if (dataChecksum(payload) !== (chk & 0xff)) {
      this.fail(op, this.stub ? StubError.BAD_DATA_CHECKSUM : RomError.INVALID_CRC);
      return null;
    }
    return { seq: u32(d, 4), payload };
  }

  private pumpRead(): void {
    const r = this.read!;
    const { flash } = this.host;
    while (r.sent < r.length && r.sent - r.acked < r.packet * r.maxInFlight) {
      const n = Math.min(r.packet, r.length - r.sent);
      this.host.transmit(slipEncode(flash.data.subarray(r.offset + r.sent, r.offset + r.sent + n)));
      r.sent += n;
    }
  }

  private onReadAck(total: number): void {
    const r = this.read!;
    r.acked = Math.max(r.acked, total);
    if (r.acked >= r.length) {
      this.read = undefined;
      this.host.transmit(slipEncode(md5(this.host.flash.data.subarray(r.offset, r.offset + r.length))));
      return;
    }
    this.pumpRead();
  }

  private readReg(addr: number): number {
    const { chip, registers, baud } = this.host;
    if (addr === 0x40001000) return chip.magic;
    if (chip.uartClkdivReg !== undefined && addr === chip.uartClkdivReg) return Math.floor(this.host.xtalHz / baud);
    return registers.get(addr) ?? 0;
  }

  private writeReg(addr: number, value: number, mask: number): void {
    const { registers, chip } = this.host;
    const old = registers.get(addr) ?? 0;
    const next = ((old & ~mask) | (value & mask)) >>> 0;
    registers.set(addr, next);
    const spi = chip.spi;
    if (addr === spi.base && next & SPI_CMD_USR) {
      // Run the SPI "user command" esptool set up; RDID (0x9F) is the one it uses to size the flash.
      const command = (registers.get(spi.base + spi.usr2) ?? 0) & 0xff;
      const result = command === 0x9f ? jedecId(this.flashSizeParam ?? this.host.flash.size) : 0;
      registers.set(spi.base + spi.w0, result);
      registers.set(addr, next & ~SPI_CMD_USR);
    }
  }

  private statusLen(): 2 | 4 {
    return this.stub ? 2 : this.host.chip.romStatusLen;
  }

  private ok(op: number, val = 0, data: ArrayLike<number> = []): void {
    this.host.transmit(slipEncode(encodeResponse(op, val, data, 0, 0, this.statusLen())));
  }

  private fail(op: number, error: number): void {
    this.host.transmit(slipEncode(encodeResponse(op, 0, [], 1, error, this.statusLen())));
  }

  /**
   * The ROM answers a command it does not know with "invalid message" under another opcode, which esptool
   * reads as UnsupportedCommandError; the stub answers under the same opcode with CMD_NOT_IMPLEMENTED.
   */
  private unsupported(op: number): void {
    if (this.stub) return this.fail(op, StubError.CMD_NOT_IMPLEMENTED);
    this.host.transmit(slipEncode(encodeResponse(0x00, 0, [], 1, RomError.INVALID_MESSAGE, this.statusLen())));
  }
}
