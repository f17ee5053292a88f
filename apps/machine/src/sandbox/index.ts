export * from './types.js';
export { createBwrapSandbox } from './bwrap-sandbox.js';
export { createDirectSandbox } from './direct-sandbox.js';
export { detectHostLayout } from './host-layout.js';
export { detectCgroups, type CgroupDriver } from './cgroup-jail.js';
export { SANDBOX_WORKSPACE, SANDBOX_UID } from './bwrap-args.js';
export { UidPool } from './uid-pool.js';
export type { WorkspaceSandbox } from './workspace-sandbox.js';
export type { BinaryIo, BinaryResult } from './spawn-binary.js';
