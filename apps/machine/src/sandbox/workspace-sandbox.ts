import type { BinaryIo, BinaryResult } from './spawn-binary.js';
import type { Sandbox, SandboxSpec } from './types.js';

/** Where the workspace helper program appears inside the sandbox (bound read-only). */
export const SANDBOX_HELPER = '/aegis/ws-helper.cjs';
/** Where the job's artifacts appear inside the sandbox (bound read-only, when they exist). */
export const SANDBOX_ARTIFACTS = '/artifacts';

/**
 * A sandbox that can also run the workspace helper: a binary-capable run, and the job's uid held for the whole
 * life of its workspace (so the workspace has one owner, and the machine never has to re-own user files).
 */
export interface WorkspaceSandbox extends Sandbox {
  /** Like `run`, with binary stdin/stdout (for the workspace helper). */
  exec(spec: SandboxSpec, io: BinaryIo): Promise<BinaryResult>;
  /**
   * Holds the workspace's uid until `unclaim` (runs and terminals of the workspace use it). Returns the uid that
   * owns the workspace's files (the machine's own uid when it runs unprivileged). `prefer`: try this uid first.
   */
  claim(workspaceDir: string, prefer?: number): Promise<number>;
  unclaim(workspaceDir: string): Promise<void>;
  /** The uid holding this workspace, if claimed. */
  ownerOf(workspaceDir: string): number | undefined;
  /** The helper program: its path as the sandboxed command sees it. */
  readonly helperPath: string;
  /** True when the machine runs as root and so can give each workspace its own uid and filesystem. */
  readonly privileged: boolean;
}
