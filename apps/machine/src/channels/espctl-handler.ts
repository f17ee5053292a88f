import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FlashBundleManifest, MAX_FRAME_BYTES, RpcErrorCode, SpdxDocument, type EspctlMethod } from '@aegis/protocol';
import {
  RpcError,
  dispatchRequest,
  encodeError,
  parseFrame,
  type EspctlHandlers,
  type LimitedSender,
  type MessageChannelLike,
} from '@aegis/peer';
import type { Logger } from 'pino';
import type { BuildBackend } from '../build/backend.js';
import type { BuildJob } from '../jobs/build-job.js';
import { makeSbom } from '../build/sbom.js';
import { BackendError } from '../build/errors.js';
import { UploadError, UploadReceiver } from './upload-receiver.js';
import { DEFAULT_UNTAR_LIMITS, UnsafeArchiveError, safeUntar } from './safe-untar.js';
import { uploadTarOf, workspaceOpsOf } from '../workspace/index.js';
import { streamLog } from './log-stream.js';

export interface EspctlHandlerOptions {
  job: BuildJob;
  backend: BuildBackend;
  channel: MessageChannelLike;
  sender: LimitedSender;
  log: Logger;
  maxUploadBytes: number;
  /** Attach sessions read results; they cannot upload or start builds. */
  readOnly: boolean;
  /** Called when a build starts (the machine tells the API its free slots at once). */
  onBuildStarted?: () => void;
  /**
   * Whether a rebuild may start now: a job's first build holds the slot it was claimed with, a later one in the
   * same session needs a free slot like any other build (the machine never runs more builds than its slots).
   */
  slotFree?: () => boolean;
}

const READ_ONLY_METHODS: ReadonlySet<EspctlMethod> = new Set([
  'build.status',
  'build.cancel',
  'log.read',
  'artifacts.list',
  'artifacts.manifest',
  'size',
  'sbom',
  'diag',
  'decode',
]);

/** Serves JSON-RPC on the `espctl` channel for one job; streams `log` and `status` notifications. */
export function serveEspctl(o: EspctlHandlerOptions): () => void {
  const { job, backend, channel, sender, log } = o;
  let upload: UploadReceiver | undefined;
  const send = (text: string) => sender.send(text).catch(() => undefined);

  const requireBuilt = () => {
    if (job.state !== 'succeeded' || !job.outcome?.artifactsDir)
      throw new RpcError(RpcErrorCode.NotFound, 'There is no successful build yet; run build.start first.');
    return job.outcome.artifactsDir;
  };
  const artifactPath = (kind: string) => {
    const dir = requireBuilt();
    const a = job.artifacts.find((x) => x.kind === kind);
    return a ? join(dir, a.name) : undefined;
  };

  const handlers: EspctlHandlers = {
    'upload.begin': async (p) => {
      if (job.isBuilding)
        throw new RpcError(RpcErrorCode.BuildBusy, 'A build is running; wait for it or cancel it first.');
      await upload?.discard();
      upload = undefined;
      try {
        // The upload lands beside the workspace, in the machine's own job directory, never inside it.
        upload = await UploadReceiver.begin(uploadTarOf(job.workspaceDir), p.size, p.sha256, o.maxUploadBytes);
      } catch (err) {
        if (err instanceof UploadError)
          throw new RpcError(RpcErrorCode.UploadRejected, err.message, { code: err.code });
        throw err;
      }
      return { max_chunk: MAX_FRAME_BYTES };
    },
    'upload.end': async () => {
      const u = upload;
      upload = undefined;
      if (!u) throw new RpcError(RpcErrorCode.UploadRejected, 'No upload in progress; call upload.begin first.');
      try {
        await u.end();
        const r = await safeUntar(u.path, job.workspaceDir, DEFAULT_UNTAR_LIMITS, workspaceOpsOf(backend));
        job.projectUploaded = true;
        return r;
      } catch (err) {
        if (err instanceof UploadError || err instanceof UnsafeArchiveError)
          throw new RpcError(RpcErrorCode.UploadRejected, err.message, { code: err.code });
        if (err instanceof BackendError)
          throw new RpcError(RpcErrorCode.UploadRejected, err.message, { code: err.code });
        throw err;
      } finally {
        await u.discard();
      }
    },
    'build.start': async (p) => {
      if (job.isBuilding) throw new RpcError(RpcErrorCode.BuildBusy, 'A build is already running for this job.');
      if (!job.projectUploaded)
        throw new RpcError(RpcErrorCode.NotFound, 'No project has been uploaded; upload it before starting a build.');
      if (job.buildStarted && o.slotFree && !o.slotFree())
        throw new RpcError(
          RpcErrorCode.BuildBusy,
          "Every build slot of this machine is busy; start the build again in a moment (this job's results stay).",
        );
      void job.startBuild(backend, { target: p.target, idfVersion: p.idf_version, profile: p.profile, clean: p.clean });
      o.onBuildStarted?.();
      return job.status();
    },
    'build.cancel': async () => {
      job.cancel();
      return job.status();
    },
    'build.status': async () => job.status(),
    'log.read': async (p) => job.log.read(p.since_seq, p.limit),
    set_target: async (p) => {
      if (job.isBuilding)
        throw new RpcError(RpcErrorCode.BuildBusy, 'A build is running; change the target afterwards.');
      job.target = p.target;
      return { target: p.target };
    },
    'artifacts.list': async () => ({ artifacts: job.artifacts }),
    'artifacts.manifest': async () => {
      const mPath = artifactPath('bundle-manifest');
      const sPath = artifactPath('bundle-signature');
      if (!mPath || !sPath) throw new RpcError(RpcErrorCode.NotFound, 'This build produced no signed flash bundle.');
      const manifest = FlashBundleManifest.parse(JSON.parse(await readFile(mPath, 'utf8')));
      return { manifest, jws: (await readFile(sPath, 'utf8')).trim() };
    },
    size: async (p) => {
      requireBuilt();
      return backend.size(job.workspaceDir, p.detail);
    },
    sbom: async () => {
      const dir = requireBuilt();
      const a = job.artifacts.find((x) => x.kind === 'report' && /sbom/i.test(x.name));
      const made = a ? SpdxDocument.safeParse(JSON.parse(await readFile(join(dir, a.name), 'utf8'))) : undefined;
      if (made?.success) return made.data;
      const m = job.artifacts.find((x) => x.kind === 'bundle-manifest');
      const manifest = m
        ? FlashBundleManifest.safeParse(JSON.parse(await readFile(join(dir, m.name), 'utf8'))).data
        : undefined;
      // Without the build's own SBOM there is no project view: the machine never reads the workspace itself.
      return makeSbom({
        jobId: job.id,
        target: job.target,
        idfVersion: job.idfVersion,
        manifest,
        artifacts: job.artifacts,
      });
    },
    diag: async () => {
      const checks: { name: string; ok: boolean; detail: string }[] = [];
      checks.push({
        name: 'project',
        ok: job.projectUploaded,
        detail: job.projectUploaded ? 'project uploaded' : 'no project uploaded yet',
      });
      try {
        const inv = await backend.inventory();
        checks.push({
          name: 'store',
          ok: inv.idfVersions.length > 0,
          detail: `IDF ${inv.idfVersions.join(', ') || 'none'}; targets ${inv.targets.join(', ') || 'none'}`,
        });
      } catch (err) {
        checks.push({ name: 'store', ok: false, detail: (err as Error).message });
      }
      checks.push({
        name: 'build',
        ok: job.state !== 'failed',
        detail: job.error ? `${job.state}: ${job.error.message}` : job.state,
      });
      return { checks };
    },
    decode: async (p) => {
      requireBuilt();
      return { frames: await backend.decode(job.workspaceDir, p.addresses) };
    },
  };

  const allowed: EspctlHandlers = o.readOnly
    ? Object.fromEntries(Object.entries(handlers).filter(([m]) => READ_ONLY_METHODS.has(m as EspctlMethod)))
    : handlers;

  // Log frames are read from the job's log by seq (never one queued send per line); statuses follow their lines.
  const logStream = streamLog({ log: job.log, send: (text) => sender.send(text) });
  const offStatus = job.onStatus((s) => logStream.status(s));

  const offMsg = channel.onMessage((data) => {
    if (typeof data !== 'string') {
      if (data.length > MAX_FRAME_BYTES) {
        void send(
          encodeError(
            null,
            new RpcError(RpcErrorCode.FrameTooLarge, `Binary frame larger than ${MAX_FRAME_BYTES} bytes.`),
          ),
        );
        return;
      }
      if (!upload || o.readOnly) {
        void send(encodeError(null, new RpcError(RpcErrorCode.UploadRejected, 'Binary frame without upload.begin.')));
        return;
      }
      upload.chunk(data);
      return;
    }
    const f = parseFrame(data);
    if (f.kind === 'invalid') void send(encodeError(f.id, f.error));
    else if (f.kind === 'request')
      void dispatchRequest(allowed, f.msg, (err) =>
        log.error({ err, method: f.msg.method }, 'espctl handler failed'),
      ).then(send);
    // Notifications and responses from the client carry nothing we act on.
  });

  const stop = () => {
    logStream.stop();
    offStatus();
    offMsg();
    void upload?.discard();
    upload = undefined;
  };
  channel.onClose(stop);
  return stop;
}
