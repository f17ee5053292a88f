export { SimDevice, ROM_BAUD, type DeviceOptions, type DeviceMode, type HostLink, type Signals } from './device.js';
export {
  SimSerialPort,
  type SimSerialPortInfo,
  type SimSerialPortOptions,
  type PortBackend,
} from './web-serial-port.js';
export { serveDevice, remoteDevice, type MessagePortLike } from './worker-bridge.js';
export { DeviceStream } from './stream.js';
export { FlashMemory, FlashRangeError, SECTOR_SIZE, type FlashStats } from './flash-memory.js';
export { CHIPS, CHIP_NAMES, jedecId, type ChipName, type ChipProfile } from './chip-profiles.js';
export { bootFromFlash, type BootResult } from './boot.js';
export { slipEncode, SlipDecoder } from './slip.js';
export {
  Op,
  opName,
  RomError,
  StubError,
  encodeRequest,
  encodeResponse,
  parseRequest,
  dataChecksum,
} from './rom-protocol.js';
export { realClock, type Clock } from './clock.js';
export {
  buildDemoFirmware,
  flashImageOf,
  APP_OFFSET,
  type DemoFirmwareOptions,
  type FirmwarePart,
} from './demo-firmware.js';
