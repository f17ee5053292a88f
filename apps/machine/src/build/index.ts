import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jsonObjectInOutput } from '@aegis/esp';
import type { DecodedFrame, SizeDetail } from '@aegis/protocol';
import type { BuildBackend, BuildOutcome, BuildRequest, SandboxedCommand } from './backend.js';
import { makeArtifacts } from './bundle.js';
import { BuildCache } from './build-cache.js';
import { CompilerCache, type CompilerCacheScope } from './compiler-cache.js';
import { artifactsDirOf, readBuildInfo, writeBuildInfo } from './build-info.js';
import { parseAddr2line } from './decode.js';
import { BackendError } from './errors.js';
import { exportScriptOf, idfCommand, idfEnv, idfSizeCommand } from './idf-command.js';
import { readProjectSettings, resolveIdfVersion } from './project-settings.js';
import { readProjectView } from './project-view.js';
import { limitsFor, runBuild } from './runner.js';
import { loadOrCreateSigningKey, publicJwkOf, type SigningKey } from './signing-key.js';
import {
  createBwrapSandbox,
  createDirectSandbox,
  detectCgroups,
  detectHostLayout,
  type WorkspaceSandbox,
} from '../sandbox/index.js';
import { SANDBOX_ARTIFACTS } from '../sandbox/workspace-sandbox.js';
import { WorkspaceOps } from '../workspace/workspace-ops.js';
import { inventory, loadStore, storePath, type Store } from '../store/store.js';

export { loadOrCreateSigningKey, publicJwkOf, type SigningKey } from './signing-key.js';
export { BackendError } from './errors.js';
export type * from './backend.js';

export interface BackendLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface BuildBackendConfig {
  /** ESPCTL_STORE_ROOT: the toolchain store with manifest.json. Defaults to $ESPCTL_STORE_ROOT. */
  storeRoot?: string;
  /** 'bwrap' (default in production) or 'none' (unsafe; warned about on every build). */
  sandbox: 'bwrap' | 'none';
  /** Incremental build cache (and the sandbox's synthetic /etc files). Defaults to `<workDir>/build-cache`. */
  cacheDir?: string;
  /** The machine's state directory; used for the defaults of `cacheDir` and the signing key file. */
  workDir?: string;
  /** Default 2 GiB. */
  cacheMaxBytes?: number;
  /** Default 7 days. */
  cacheTtlSecs?: number;
  /** ccache across jobs: per user (default), shared by every user of the machine, or off. */
  compilerCache?: {
    scope: CompilerCacheScope | 'off';
    dir?: string;
    maxMb?: number;
    gid?: number;
    retentionMs?: number;
  };
  /** The machine's Ed25519 key that signs flash bundles. Default: `<workDir>/bundle-signing-key.pem`, created once. */
  signingKey?: SigningKey;
  machineId?: string;
  log?: BackendLog;
  /** Set false to skip cgroup limits even where they are available. */
  cgroups?: boolean;
  /**
   * Disk quota of each job workspace created through `workspaces.create`, MiB (default 4096; 0 = none): a
   * size-limited filesystem per job, where the machine runs as root.
   */
  workspaceQuotaMb?: number;
}

/** Default per-job workspace quota (MiB). */
export const DEFAULT_WORKSPACE_QUOTA_MB = 4096;
/** ccache's size cap per cache: two targets of ESP-IDF's components with room for a few sdkconfigs each. */
export const DEFAULT_CCACHE_MAX_MB = 2048;
/** The host group builds join to use their compiler cache (beside the sandbox uids 61000–61511). */
export const DEFAULT_CCACHE_GID = 61999;

/**
 * The job's shell with the IDF environment (idf.py, the toolchains and the Python env on PATH): bash sources the
 * store's export script as its rc file. bash restores the terminal cleanly inside the pid namespace (dash reports
 * a lost process group on exit).
 */
function interactiveShell(exportScript: string): string[] {
  return existsSync('/bin/bash')
    ? ['/bin/bash', '--noprofile', '--rcfile', exportScript, '-i']
    : ['/bin/sh', '-c', `. "${exportScript}"; exec /bin/sh -i`];
}

const quiet: BackendLog = { info: () => undefined, warn: () => undefined };

export interface BuildBackendWithStore extends BuildBackend {
  /** Public half of the bundle-signing key (`bundle_public_jwk` in the heartbeat). */
  bundlePublicJwk(): Record<string, unknown>;
  /** The id the API gave this machine (known after registering); written into every later bundle manifest. */
  setMachineId(id: string): void;
  /** Re-reads and re-verifies the store (e.g. after provisioning). */
  reloadStore(): Promise<void>;
  readonly sandboxKind: 'bwrap' | 'none';
  /** Every file operation in job workspaces (as the workspace owner, in the sandbox); the agent uses it too. */
  readonly workspaces: WorkspaceOps;
  /** The job sandbox and the store root, for other work in a job's sandbox (the emulator, apps/machine/src/emulator). */
  readonly sandbox: WorkspaceSandbox;
  readonly storeRoot: string;
}

/**
 * The build half of the machine: store, sandbox, idf.py runner, cache and flash bundle. The store is verified
 * on first use (`inventory()` at start surfaces a broken store as a clear error).
 */
export async function createBuildBackend(config: BuildBackendConfig): Promise<BuildBackendWithStore> {
  const log = config.log ?? quiet;
  const configuredRoot = config.storeRoot ?? process.env.ESPCTL_STORE_ROOT;
  if (!configuredRoot) {
    throw new BackendError(
      'store_missing',
      'No ESP-IDF store is configured; set ESPCTL_STORE_ROOT (`scripts/provision-store.sh --store <dir> --kit <kit>` ' +
        'installs ESP-IDF from the offline kit, `scripts/provision-store.sh --store <dir> 5.3.1` a release online).',
    );
  }
  const storeRoot = path.resolve(configuredRoot);
  const stateDir = config.workDir ?? path.join(os.homedir(), '.aegis', 'machine');
  const cacheDir = config.cacheDir ?? path.join(stateDir, 'build-cache');
  const signingKey = config.signingKey ?? (await loadOrCreateSigningKey(path.join(stateDir, 'bundle-signing-key.pem')));
  let storePromise: Promise<Store> | undefined;
  const store = (): Promise<Store> => {
    storePromise ??= loadStore(storeRoot).catch((e: unknown) => {
      storePromise = undefined;
      throw e;
    });
    return storePromise;
  };
  let machineId = config.machineId;
  await mkdir(cacheDir, { recursive: true });
  const cache = new BuildCache({
    dir: path.join(cacheDir, 'builds'),
    maxBytes: config.cacheMaxBytes ?? 2 * 1024 ** 3,
    ttlSecs: config.cacheTtlSecs ?? 7 * 24 * 3600,
  });
  const cc = config.compilerCache ?? { scope: 'user' };
  const compilerCache =
    cc.scope === 'off'
      ? undefined
      : new CompilerCache({
          // As root, builds run as other uids that must reach it whatever the machine directory's mode (0700 is fine).
          dir: cc.dir ?? (process.getuid?.() === 0 ? '/var/cache/aegis/ccache' : path.join(stateDir, 'ccache')),
          scope: cc.scope,
          maxMb: cc.maxMb ?? DEFAULT_CCACHE_MAX_MB,
          gid: cc.gid ?? DEFAULT_CCACHE_GID,
          retentionMs: cc.retentionMs ?? 14 * 24 * 3600_000,
          sandboxed: config.sandbox !== 'none',
          log,
        });
  if (compilerCache) {
    const sweep = (): void =>
      void compilerCache.sweep().catch((e: Error) => log.warn(`compiler cache sweep failed: ${e.message}`));
    sweep();
    setInterval(sweep, 6 * 3600_000).unref();
  }
  let sandbox: WorkspaceSandbox;
  if (config.sandbox === 'none') {
    log.warn('Builds run WITHOUT a sandbox (--sandbox=none): every build has this machine’s own rights.');
    sandbox = createDirectSandbox();
  } else {
    // The sandbox user must reach its passwd/group files, so they live outside the (private) machine directories.
    const etcDir =
      process.getuid?.() === 0
        ? '/run/aegis/sandbox-etc'
        : path.join(os.tmpdir(), `aegis-sandbox-etc-${process.getuid?.() ?? 'user'}`);
    const layout = await detectHostLayout(etcDir);
    const cgroups = config.cgroups === false ? undefined : await detectCgroups();
    log.info(
      cgroups
        ? `Sandbox: bubblewrap with cgroup ${cgroups.version} memory and pids limits per job.`
        : 'Sandbox: bubblewrap with rlimits only (no writable cgroup memory/pids controllers).',
    );
    sandbox = createBwrapSandbox({ layout, cgroups });
  }
  const ops = new WorkspaceOps({
    sandbox,
    quotaMb: config.workspaceQuotaMb ?? DEFAULT_WORKSPACE_QUOTA_MB,
    log,
  });
  /** Where the job's artifacts appear to a sandboxed command. */
  const artifactsPath = (workspaceDir: string): string =>
    sandbox.kind === 'none' ? artifactsDirOf(workspaceDir) : SANDBOX_ARTIFACTS;

  async function versionFor(workspaceDir: string): Promise<{ s: Store; v: Store['manifest']['versions'][number] }> {
    const s = await store();
    const info = await readBuildInfo(workspaceDir);
    if (info) {
      const v = s.manifest.versions.find((x) => x.version === info.idfVersion);
      if (v) return { s, v };
    }
    const settings = await readProjectSettings(ops, workspaceDir).catch(() => undefined);
    const v = settings ? resolveIdfVersion(s, undefined, settings) : s.manifest.versions[0];
    return { s, v };
  }

  /**
   * The per-archive or per-object size table of the workspace's build (what `idf.py size-components|size-files
   * --format json` prints, straight from esp_idf_size), in the sandbox.
   */
  async function sizeTable(workspaceDir: string, detail: 'components' | 'files'): Promise<Record<string, unknown>> {
    await ops.open(workspaceDir);
    if (!(await readBuildInfo(workspaceDir)))
      throw new BackendError('no_build', 'There is no successful build in this job yet; run a build first.');
    const { s, v } = await versionFor(workspaceDir);
    const ws = sandbox.workspacePath(workspaceDir);
    const command = detail === 'components' ? 'size-components' : 'size-files';
    let stdout = '';
    const errors: string[] = [];
    const r = await sandbox.run(
      {
        command: idfSizeCommand(detail === 'components' ? '--archives' : '--files'),
        cwd: path.posix.join(ws, 'project'),
        env: idfEnv(s, v, ws),
        workspaceDir,
        readOnlyDirs: [s.root],
        limits: limitsFor({ memoryMb: 1024, cpuCores: 1, timeoutSecs: 120 }, 120),
      },
      {
        onLine: (stream, text) => {
          if (stream === 'stdout') stdout += text + '\n';
          else if (errors.length < 5) errors.push(text);
        },
      },
    );
    if (r.exitCode !== 0) {
      const why = errors.find((e) => e.trim()) ?? `exit ${r.exitCode ?? r.signal ?? 'unknown'}`;
      throw new BackendError('size_failed', `esp_idf_size (${command}) failed: ${why.slice(0, 300)}`);
    }
    try {
      const text = jsonObjectInOutput(stdout); // after idf.py's log lines
      const json: unknown = text === undefined ? undefined : JSON.parse(text);
      if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as Record<string, unknown>;
    } catch {
      // falls through to the error below
    }
    throw new BackendError('size_failed', `esp_idf_size (${command}) printed no JSON object.`);
  }

  return {
    sandboxKind: sandbox.kind,
    workspaces: ops,
    sandbox,
    storeRoot,
    bundlePublicJwk: () => publicJwkOf(signingKey),
    setMachineId: (id: string) => {
      machineId = id;
    },
    async reloadStore() {
      storePromise = undefined;
      await store();
    },

    async inventory() {
      return inventory(await store());
    },

    build(req: BuildRequest): Promise<BuildOutcome> {
      return runBuild({ store, sandbox, cache, compilerCache, ops, log }, req, async (p, run) => {
        // The size report is made while the bundle is (it is awaited only to write size.json).
        const sized = run(['size'], { capture: true, command: idfSizeCommand() }).then(
          (r) => {
            p.mark('size');
            if (r.exitCode === 0) return r.stdout;
            req.onLine('system', 'esp_idf_size failed; the bundle has no size report.');
            return undefined;
          },
          (e: unknown) => {
            req.onLine('system', `esp_idf_size did not run (${(e as Error).message}); the bundle has no size report.`);
            return undefined;
          },
        );
        const artifactsDir = artifactsDirOf(req.workspaceDir);
        const made = await makeArtifacts({
          outputs: {
            read: (names) => ops.readOutputs(req.workspaceDir, 'build', names),
            project: () => readProjectView(ops, req.workspaceDir),
          },
          artifactsDir,
          target: p.target,
          idfVersion: p.version.version,
          jobId: req.jobId,
          machineId,
          signingKey,
          sizeJson: sized,
          projectName: p.projectName,
          version: p.version,
          now: new Date(),
        }).catch(async (e: unknown) => {
          await sized; // no size run outlives its build
          throw e;
        });
        p.mark('bundle');
        await writeBuildInfo(req.workspaceDir, {
          target: p.target,
          idfVersion: p.version.version,
          project: made.projectName,
          elf: made.elfName,
          toolPrefix: made.toolPrefix,
        });
        req.onLine(
          'system',
          `Flash bundle ready: ${made.artifacts.length} artifacts, app ${made.sizes.app ?? 0} bytes.`,
        );
        return { artifacts: made.artifacts, artifactsDir, sizes: made.sizes };
      });
    },

    async size(workspaceDir: string, detail: SizeDetail = 'summary') {
      if (detail !== 'summary') return sizeTable(workspaceDir, detail);
      const text = await readFile(path.join(artifactsDirOf(workspaceDir), 'size.json'), 'utf8').catch(() => undefined);
      if (!text) {
        if (await readBuildInfo(workspaceDir)) {
          throw new BackendError(
            'no_size_report',
            'The last build has no size report; esp_idf_size failed (see the build log).',
          );
        }
        throw new BackendError('no_build', 'There is no successful build in this job yet; run a build first.');
      }
      return JSON.parse(text) as Record<string, unknown>;
    },

    async decode(workspaceDir: string, addresses: string[]): Promise<DecodedFrame[]> {
      for (const a of addresses) {
        if (!/^0x[0-9a-fA-F]{1,8}$/.test(a))
          throw new BackendError('invalid_input', `${a} is not an address like 0x40380010.`);
      }
      const info = await readBuildInfo(workspaceDir);
      if (!info) throw new BackendError('no_build', 'There is no successful build in this job yet; run a build first.');
      if (addresses.length === 0) return [];
      await ops.open(workspaceDir);
      const { s, v } = await versionFor(workspaceDir);
      const prefix = info.toolPrefix ?? '';
      const tool =
        v.tools.find((t) => t.name === `${prefix}addr2line`) ??
        v.tools.find((t) => t.name.endsWith('addr2line') && t.name.startsWith(prefix.split('-')[0] ?? ''));
      if (!tool) {
        throw new BackendError(
          'tool_missing',
          `IDF ${v.version} in the store has no ${prefix}addr2line; re-provision it.`,
        );
      }
      const ws = sandbox.workspacePath(workspaceDir);
      let stdout = '';
      const r = await sandbox.run(
        {
          command: [
            storePath(s.root, tool.path),
            '-pfiaC',
            '-e',
            path.posix.join(artifactsPath(workspaceDir), info.elf),
            ...addresses,
          ],
          cwd: ws,
          env: idfEnv(s, v, ws),
          workspaceDir,
          readOnlyDirs: [s.root],
          limits: limitsFor({ memoryMb: 1024, cpuCores: 1, timeoutSecs: 30 }, 30),
        },
        { onLine: (stream, text) => void (stream === 'stdout' ? (stdout += text + '\n') : undefined) },
      );
      if (r.exitCode !== 0) throw new BackendError('decode_failed', `addr2line failed (exit ${r.exitCode}).`);
      return parseAddr2line(stdout, addresses);
    },

    async terminal(workspaceDir: string, command: 'shell' | 'menuconfig', userId?: string): Promise<SandboxedCommand> {
      await ops.open(workspaceDir);
      const { s, v } = await versionFor(workspaceDir);
      const ws = sandbox.workspacePath(workspaceDir);
      const ccache = userId !== undefined ? await compilerCache?.mountFor(userId, workspaceDir) : undefined;
      const env = { ...idfEnv(s, v, ws), ...ccache?.env, TERM: 'xterm-256color', PS1: 'build:\\w$ ' };
      const prepared = await sandbox.prepare(
        {
          command: command === 'menuconfig' ? idfCommand(['menuconfig']) : interactiveShell(exportScriptOf(s, v)),
          cwd: path.posix.join(ws, 'project'),
          env,
          workspaceDir,
          readOnlyDirs: [s.root],
          ...(ccache ? { binds: ccache.binds, groups: ccache.groups } : {}),
          limits: limitsFor({ memoryMb: 1024, cpuCores: 1, timeoutSecs: 6 * 3600 }, 6 * 3600),
        },
        { interactive: true },
      );
      return {
        file: prepared.file,
        args: prepared.args,
        env: prepared.env,
        cwd: prepared.cwd,
        dispose: prepared.release,
      };
    },
  };
}
