export { serveEmulator } from './emulator-handler.js';
export {
  EmulatorService,
  emulatorHostOf,
  maxSecondsFromEnv,
  DEFAULT_EMULATOR_MAX_SECONDS,
  type EmulatorHost,
} from './emulator-service.js';
export { EmulatorSlots } from './emulator-slots.js';
export * from './flash-image.js';
export { findQemu, qemuArgs, type QemuInstall } from './qemu.js';
export { readJobImage } from './job-image.js';
