export { flash, type FlashOptions, type FlashResult, type PartResult } from './flash.js';
export { monitor, runSequence, type MonitorOptions, type MonitorSession } from './monitor.js';
export { FlashError, type FlashErrorCode } from './errors.js';
export { checkBundle, checkFits, type BundleTrust, type FlashBundleInput, type CheckedBundle } from './bundle.js';
// The planner is libs/esp's (browser-safe, pure); re-exported for callers that only know the flasher.
export {
  planSectorDiff,
  SECTOR_SIZE,
  md5Hex,
  type DiffPlan,
  type WriteRange,
  type DeviceMd5Batch,
  type FlashRange,
} from '@aegis/esp';
export { HARD_RESET_SEQUENCE, resetPlan, type ResetStrategy } from './reset-strategy.js';
export type { FlashProgress, ProgressListener } from './progress.js';
export { ESPRESSIF_VID, USB_JTAG_SERIAL_PID, isUsbJtagSerial, type SerialPortLike } from './serial-port.js';
export { ESPTOOL_CHIP_NAMES, targetOfChipName } from './chip-names.js';
