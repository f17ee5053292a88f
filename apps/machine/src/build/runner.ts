import path from 'node:path';
import { firstBuildError, parseBuildDiagnostics } from '@aegis/esp';
import type { LogLine, StoreIdfVersion, Target } from '@aegis/protocol';
import type { BuildOutcome, BuildRequest } from './backend.js';
import type { BuildCache, CacheKey } from './build-cache.js';
import type { CompilerCache } from './compiler-cache.js';
import { BackendError, toErrorBody } from './errors.js';
import { idfCommand, idfEnv } from './idf-command.js';
import {
  parseProjectSettings,
  readProjectSettings,
  resolveIdfVersion,
  resolveTarget,
  SETTINGS_READ,
} from './project-settings.js';
import type { RunResult, Sandbox, SandboxLimits } from '../sandbox/types.js';
import type { Store } from '../store/store.js';
import type { WorkspaceOps } from '../workspace/workspace-ops.js';

export interface RunnerDeps {
  store(): Promise<Store>;
  sandbox: Sandbox;
  cache: BuildCache;
  /** Every file access in the workspace goes through these (as the workspace owner, in the sandbox). */
  ops: WorkspaceOps;
  /** ccache kept across jobs (per user by default). */
  compilerCache?: CompilerCache;
  log: { warn(msg: string): void; info(msg: string): void };
  now?: () => number;
}

/** Per-process limits derived from the grant. RLIMIT_AS is per process and Node itself maps ~1 GiB. */
export function limitsFor(
  req: Pick<BuildRequest, 'memoryMb' | 'cpuCores' | 'timeoutSecs'>,
  remainingSecs: number,
): SandboxLimits {
  return {
    memoryMb: Math.max(req.memoryMb, 1536),
    totalMemoryMb: req.memoryMb,
    cpuCores: Math.max(1, req.cpuCores),
    cpuSecs: Math.max(10, Math.ceil(req.timeoutSecs * Math.max(1, req.cpuCores))),
    maxProcs: 512,
    fileSizeMb: 2048,
    timeoutSecs: Math.max(0.1, remainingSecs),
  };
}

/** Files that select a build profile's defaults; the settings read says which of them the project has. */
const DEFAULTS_FILES = ['sdkconfig.defaults', 'sdkconfig.defaults.debug', 'sdkconfig.defaults.release'];

export interface PreparedBuild {
  store: Store;
  version: StoreIdfVersion;
  target: Target;
  projectName: string;
  cacheKey: CacheKey;
  /** Records that a step of the build finished now (the machine log gets every step's time at the end). */
  mark(step: string): void;
}

/**
 * Runs `idf.py <args>` (or `command` instead) in the job's sandbox, streaming its lines into the build log;
 * with `capture`, stdout is collected instead of logged.
 */
export type RunIdf = (
  args: string[],
  opts?: { capture?: boolean; command?: string[] },
) => Promise<RunResult & { stdout: string }>;

/** Workspaces whose build/ is being packed into the cache (after their build already reported success). */
const packing = new Map<string, Promise<unknown>>();

/**
 * One build: resolve IDF version and target, restore the incremental cache, `idf.py set-target` when the
 * target changes, `idf.py build`, every line streamed. Returns the outcome; never throws for a build failure.
 * `afterSuccess` makes the artifacts (flash bundle, size report…) once idf.py succeeded.
 */
export async function runBuild(
  deps: RunnerDeps,
  req: BuildRequest,
  afterSuccess: (p: PreparedBuild, run: RunIdf) => Promise<Pick<BuildOutcome, 'artifacts' | 'artifactsDir' | 'sizes'>>,
): Promise<BuildOutcome> {
  const now = deps.now ?? Date.now;
  const deadline = now() + req.timeoutSecs * 1000;
  const system = (text: string): void => req.onLine('system', text);
  let target: Target = (req.target ?? 'esp32') as Target;
  let idfVersion = req.idfVersion ?? '';
  const inside = path.posix.join(deps.sandbox.workspacePath(req.workspaceDir), 'project');
  // When each step ended, in ms since the start: one line in the machine log per build shows where time goes.
  const started = now();
  const marks: string[] = [];
  const mark = (step: string): void => void marks.push(`${step} ${((now() - started) / 1000).toFixed(2)}`);
  const timed = (o: BuildOutcome): BuildOutcome => {
    mark(o.state);
    deps.log.info(`job ${req.jobId}: build steps (s since start): ${marks.join(', ')}`);
    return o;
  };

  try {
    // A previous build of this workspace may still be packing its cache entry from build/.
    const previous = packing.get(req.workspaceDir);
    if (previous) {
      await previous;
      mark('previous cache save');
    }
    const store = await deps.store();
    await deps.ops.open(req.workspaceDir);
    const settings = await readProjectSettings(deps.ops, req.workspaceDir, DEFAULTS_FILES);
    mark('settings');
    const version = resolveIdfVersion(store, req.idfVersion, settings);
    idfVersion = version.version;
    target = resolveTarget(version, req.target, settings);
    const profile = req.profile ?? settings.toml?.build?.profile;
    // A profile picks `sdkconfig.defaults.<profile>` (ESP-IDF's SDKCONFIG_DEFAULTS), used when sdkconfig is made;
    // each profile keeps its own cached sdkconfig and build directory.
    const defaultsFiles = profile
      ? ['sdkconfig.defaults', `sdkconfig.defaults.${profile}`].filter((f) => settings.present?.has(f))
      : [];
    const defines = defaultsFiles.length > 0 ? ['-D', `SDKCONFIG_DEFAULTS=${defaultsFiles.join(';')}`] : [];
    const cacheKey: CacheKey = {
      userId: req.userId,
      project: profile ? `${settings.name}#${profile}` : settings.name,
      target,
      idfVersion,
    };
    if (deps.sandbox.kind === 'none') {
      const warning = 'WARNING: this build runs WITHOUT a sandbox (--sandbox=none): it has the machine’s own rights.';
      system(warning);
      deps.log.warn(`job ${req.jobId}: ${warning}`);
    }
    const ccache = await deps.compilerCache?.mountFor(req.userId, req.workspaceDir);
    system(
      `Building ${settings.name} for ${target} with ESP-IDF ${version.version}` +
        (deps.sandbox.kind === 'bwrap' ? ' in a bubblewrap sandbox' : ''),
    );

    // The tail of the log, to pull compiler diagnostics out of a failed build.
    const tail: string[] = [];
    const run: RunIdf = async (args, { capture = false, command = idfCommand(args) } = {}) => {
      const remaining = (deadline - now()) / 1000;
      let stdout = '';
      tail.length = 0;
      const onLine = (stream: LogLine['stream'], text: string): void => {
        if (capture && stream === 'stdout') {
          stdout += text + '\n';
          return;
        }
        tail.push(text);
        if (tail.length > 4000) tail.splice(0, tail.length - 2000);
        req.onLine(stream, text);
      };
      if (remaining <= 0) return { exitCode: null, signal: 'SIGKILL', timedOut: true, canceled: false, stdout };
      const r = await deps.sandbox.run(
        {
          command,
          cwd: inside,
          env: { ...idfEnv(store, version, deps.sandbox.workspacePath(req.workspaceDir)), ...ccache?.env },
          workspaceDir: req.workspaceDir,
          readOnlyDirs: [store.root],
          ...(ccache ? { binds: ccache.binds, groups: ccache.groups } : {}),
          limits: limitsFor(req, remaining),
        },
        { signal: req.signal, onLine, flow: capture ? undefined : req.flow },
      );
      return { ...r, stdout };
    };
    const stopped = (r: RunResult, step: string): BuildOutcome | undefined => {
      if (r.canceled) {
        system('Build canceled.');
        return { state: 'canceled', exitCode: null, target, idfVersion, artifacts: [] };
      }
      if (r.timedOut) {
        const error = {
          code: 'build_timeout',
          message: `The build ran past its ${req.timeoutSecs} s time limit and was stopped; ask for a longer timeout or make the build smaller.`,
        };
        system(error.message);
        return { state: 'failed', exitCode: null, error, target, idfVersion, artifacts: [] };
      }
      if (r.exitCode !== 0 && tail.some((l) => /No space left on device/.test(l))) {
        const error = deps.ops.fullError(req.workspaceDir).toBody();
        system(error.message);
        return { state: 'failed', exitCode: r.exitCode, error, target, idfVersion, artifacts: [] };
      }
      if (r.exitCode !== 0) {
        const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
        const found = parseBuildDiagnostics(tail.join('\n'));
        const diagnostics = found.filter((d) => (d.severity === 'error' || d.severity === 'fatal') && !d.summary);
        // An error in the user's project says more than the toolchain header or ESP-IDF script it surfaced in.
        const first = firstBuildError(found, inside);
        const where = first ? `${first.file ?? ''}${first.line ? `:${first.line}` : ''}` : '';
        const message = first
          ? `idf.py ${step} ${how}: ${where ? `${where}: ` : ''}${first.message}`
          : `idf.py ${step} ${how}; the log above shows why.`;
        const error = {
          code: 'build_failed',
          message,
          ...(diagnostics.length ? { details: { diagnostics: diagnostics.slice(0, 20) } } : {}),
        };
        system(error.message);
        return { state: 'failed', exitCode: r.exitCode, error, target, idfVersion, artifacts: [] };
      }
      return undefined;
    };

    // The workspace owner unpacks the cached state in the sandbox, so a terminal of this job racing it with
    // symlinks only reaches its own files.
    // Without a sandbox each job builds at its own host path, which CMake records in build/: another job's state
    // would make idf.py refuse the build ("configured for project …"), so it is neither restored nor saved.
    const cacheable = deps.sandbox.kind !== 'none';
    // The target the project's sdkconfig is for; a restore brings the cached sdkconfig (read in the same step).
    let current = settings.sdkconfigTarget;
    const restored =
      req.clean || !cacheable
        ? false
        : await deps.cache.restore(cacheKey, async (state) => {
            const r = await deps.ops.restoreStateAndRead(
              req.workspaceDir,
              state,
              now(),
              [...SETTINGS_READ.names],
              SETTINGS_READ.maxBytes,
            );
            if (r.restored && r.files) current = parseProjectSettings(r.files).sdkconfigTarget;
            return r.restored;
          });
    if (restored) system('Restored the incremental build state of the previous build.');
    mark(restored ? 'restore' : 'no-restore');
    if (req.clean) {
      const r = await run(['fullclean']);
      const s = stopped(r, 'fullclean');
      if (s) return s;
    }
    if (current !== target) {
      system(current ? `Target changes from ${current} to ${target}.` : `Setting target ${target}.`);
      await deps.cache.invalidate(cacheKey);
      const r = await run([...defines, 'set-target', target]);
      const s = stopped(r, 'set-target');
      if (s) return timed(s);
      mark('set-target');
    }
    if (profile) system(`Profile ${profile}${defines.length ? ` (${defaultsFiles.join(', ')})` : ''}.`);
    const r = await run([...defines, 'build']);
    const s = stopped(r, 'build');
    if (s) return timed(s);
    mark('idf.py build');
    // The cache is packed once the size report and the bundle are made (packing ~130 MB of build/ beside them
    // slowed both on 2 cores) and may finish after the client hears "succeeded": it is off the critical path. It
    // is registered now, so the next build in this workspace, and any restore of this entry, wait for it.
    let bundled!: () => void;
    const afterBundle = new Promise<void>((resolve) => (bundled = resolve));
    if (cacheable) {
      let saveStart = now();
      const saving = deps.cache
        .save(cacheKey, async (dest) => {
          await afterBundle;
          saveStart = now();
          return deps.ops.packState(req.workspaceDir, dest);
        })
        .then((saved) => {
          deps.log.info(
            `job ${req.jobId}: build cache ${saved ? 'saved' : 'not saved'} in ${((now() - saveStart) / 1000).toFixed(2)} s`,
          );
          return saved;
        })
        .catch((e: unknown) => {
          deps.log.warn(`job ${req.jobId}: could not save the build cache: ${(e as Error).message}`);
          return false;
        });
      packing.set(req.workspaceDir, saving);
      void saving.finally(() => {
        if (packing.get(req.workspaceDir) === saving) packing.delete(req.workspaceDir);
      });
    }
    let made;
    try {
      made = await afterSuccess({ store, version, target, projectName: settings.name, cacheKey, mark }, run);
    } finally {
      bundled();
    }
    system('Build succeeded.');
    return timed({ state: 'succeeded', exitCode: 0, target, idfVersion, ...made });
  } catch (e) {
    if (req.signal.aborted) return { state: 'canceled', exitCode: null, target, idfVersion, artifacts: [] };
    const error = toErrorBody(e, 'build_error');
    if (!(e instanceof BackendError)) deps.log.warn(`job ${req.jobId}: ${error.message}`);
    system(`Error: ${error.message}`);
    return { state: 'failed', exitCode: null, error, target, idfVersion, artifacts: [] };
  }
}
