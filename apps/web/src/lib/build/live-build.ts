import {
  isTerminalJobState,
  type Artifact,
  type BuildStatus,
  type FlashBundleManifest,
  type JobState,
} from '@aegis/protocol';
import { EspctlClient, FirmwareClient, wrapBrowserDataChannel } from '@aegis/peer/browser';
import { connectToMachine, type MachineLink } from '../rtc/connect';
import { writeTar, type TarEntry } from '@aegis/esp';
import { DiagnosticsFeed, type Diagnostic } from './diagnostics';
import { emptyLog, LogLines, type LogSnapshot } from './log-lines';
import { Store } from './store';
import type { StepKey, StepTimes } from './timeline';

export type Phase = 'connecting' | 'uploading' | 'building' | 'succeeded' | 'failed' | 'canceled' | 'error';

export interface BuildOptions {
  target?: string;
  idf_version?: string;
  profile?: 'debug' | 'release';
  clean?: boolean;
}

export interface LiveBuildState {
  jobId: string | null;
  machineName: string | null;
  phase: Phase;
  progress: string;
  steps: StepTimes;
  /** The log so far (a view of the append-only store; a new object per update, the lines are never copied). */
  log: LogSnapshot;
  /** Errors and warnings of the log, ranked (the user's own first), parsed as the lines arrive. */
  diagnostics: Diagnostic[];
  status: BuildStatus | null;
  error: { code: string; message: string } | null;
  uploadSent: number;
  uploadTotal: number;
  artifacts: Artifact[] | null;
  size: Record<string, unknown> | null;
  /** The machine's `size {detail: 'components'}` answer (per archive), for the chart's "By component" rows. */
  sizeComponents: Record<string, unknown> | null;
  manifest: { manifest: FlashBundleManifest; jws: string } | null;
  resultsError: string | null;
  /** Size of the partition the app boots from (from the bundle's partition table), for "flash free". */
  appPartitionSize: number | null;
}

function errorOf(e: unknown): { code: string; message: string } {
  const err = e as { code?: unknown; message?: unknown };
  return {
    code: typeof err?.code === 'string' ? err.code : typeof err?.code === 'number' ? `rpc_${err.code}` : 'error',
    message: typeof err?.message === 'string' ? err.message : String(e),
  };
}

function phaseOf(state: JobState): Phase | null {
  if (state === 'succeeded') return 'succeeded';
  if (state === 'failed' || state === 'expired') return 'failed';
  if (state === 'canceled') return 'canceled';
  if (state === 'running') return 'building';
  return null;
}

/**
 * One build (or a reattachment to one) driven from this tab over WebRTC: upload, build, live log, results.
 * Lives outside React so navigating between pages keeps the connection.
 */
export class LiveBuild {
  readonly store = new Store<LiveBuildState>({
    jobId: null,
    machineName: null,
    phase: 'connecting',
    progress: 'Starting',
    steps: {},
    log: emptyLog(),
    diagnostics: [],
    status: null,
    error: null,
    uploadSent: 0,
    uploadTotal: 0,
    artifacts: null,
    size: null,
    sizeComponents: null,
    manifest: null,
    resultsError: null,
    appPartitionSize: null,
  });
  link: MachineLink | null = null;
  espctl: EspctlClient | null = null;
  firmware: FirmwareClient | null = null;
  /** Parsed a slice per task after the lines are shown, so a long log never stalls the page. */
  private readonly diagnostics = new DiagnosticsFeed({ publish: (diagnostics) => this.store.set({ diagnostics }) });
  /** Live frames and replay pages, kept once per seq, published to the store at most every 100 ms. */
  private readonly log = new LogLines({
    publish: (log, fresh) => {
      this.store.set({ log });
      this.diagnostics.push(fresh);
    },
  });
  private resultsLoading = false;

  constructor(readonly kind: 'build' | 'attach') {}

  private step(key: StepKey) {
    this.store.set((s) => ({ steps: s.steps[key] ? s.steps : { ...s.steps, [key]: Date.now() } }));
  }

  private onStatus = (status: BuildStatus) => {
    // Lines written before this status are already queued (the machine sends them first): show them with it.
    this.log.flush();
    // The whole log is in: the parser also reads what it had left for later.
    if (isTerminalJobState(status.state)) this.diagnostics.end();
    const phase = phaseOf(status.state);
    this.store.set({ status, ...(phase ? { phase } : {}), ...(status.error ? { error: status.error } : {}) });
    if (status.state === 'running') this.step('building');
    if (isTerminalJobState(status.state)) {
      this.step('finished');
      if (status.state === 'succeeded') void this.loadResults();
    }
  };

  private async open(onJob: (id: string) => void, grant: Parameters<typeof connectToMachine>[0]['grant']) {
    this.link = await connectToMachine({
      // A reattachment reads results only: the API never grants it a terminal.
      channels: this.kind === 'attach' ? ['espctl', 'firmware'] : ['espctl', 'firmware', 'pty'],
      // Opened when the user runs the firmware in the emulator (a machine that cannot emulate closes it).
      later: ['emulator'],
      grant,
      onJob: (id) => {
        this.store.set({ jobId: id });
        this.step('grant');
        onJob(id);
      },
      onProgress: (p) => {
        this.store.set({ progress: p });
        if (p.startsWith('Assigned')) this.step('assigned');
      },
    });
    this.store.set({ machineName: this.link.machineName });
    this.step('assigned');
    this.step('connected');
    const { channels, limits } = this.link;
    this.espctl = new EspctlClient(wrapBrowserDataChannel(channels.espctl!), limits);
    this.espctl.on('logs', (lines) => this.log.live(lines));
    this.espctl.on('status', this.onStatus);
    // A notification the schemas reject: say which field, keep the build going.
    this.espctl.on('error', (e) => this.store.set({ error: { code: 'bad_message', message: e.message } }));
    this.firmware = new FirmwareClient(wrapBrowserDataChannel(channels.firmware!), limits);
    this.link.pc.addEventListener('connectionstatechange', () => {
      const st = this.link?.pc.connectionState;
      if ((st === 'failed' || st === 'closed') && !isTerminalJobState(this.store.get().status?.state ?? 'running')) {
        this.store.set({
          phase: 'error',
          error: {
            code: 'connection_lost',
            message: 'The connection to the build machine was lost; reattach from the build page.',
          },
        });
      }
    });
  }

  /** New build: connect, upload the project as tar, start the build. */
  async start(files: TarEntry[], opts: BuildOptions, onJob: (id: string) => void) {
    try {
      const tar = writeTar(files);
      await this.open(onJob, {
        ...(opts.target ? { target: opts.target as never } : {}),
        ...(opts.idf_version ? { idf_version: opts.idf_version } : {}),
      });
      const espctl = this.espctl!;
      this.store.set({ phase: 'uploading', progress: 'Uploading the project', uploadTotal: tar.length });
      await espctl.uploadProject(tar, { onProgress: (n) => this.store.set({ uploadSent: n }) });
      this.step('uploaded');
      this.store.set({ phase: 'building', progress: 'Building' });
      const status = await espctl.call('build.start', {
        ...(opts.target ? { target: opts.target as never } : {}),
        ...(opts.idf_version ? { idf_version: opts.idf_version } : {}),
        ...(opts.profile ? { profile: opts.profile } : {}),
        ...(opts.clean ? { clean: true } : {}),
      });
      this.onStatus(status);
    } catch (e) {
      this.store.set({ phase: 'error', error: errorOf(e) });
    }
  }

  /** Reattach to an earlier job: replay its log from the start, follow it if still running, load results. */
  async attach(jobId: string, onJob: (id: string) => void = () => {}) {
    try {
      await this.open(onJob, { attach_to_job_id: jobId });
      this.store.set({ jobId, progress: 'Replaying the log' });
      const espctl = this.espctl!;
      const status = await espctl.call('build.status', {});
      // Pages hold about 32 KiB each; live frames wait until the replay has caught up with them.
      this.log.beginReplay();
      try {
        for (let since = 0, more = true; more;) {
          const page = await espctl.call('log.read', { since_seq: since, limit: 5000 });
          this.log.replayed(page.lines);
          more = page.more && page.next_seq > since;
          since = page.next_seq;
        }
      } finally {
        this.log.endReplay();
      }
      this.step('uploaded');
      if (status.state !== 'pending' && status.state !== 'assigned') this.step('building');
      this.onStatus(status);
    } catch (e) {
      this.store.set({ phase: 'error', error: errorOf(e) });
    }
  }

  async loadResults() {
    if (this.resultsLoading || !this.espctl) return;
    this.resultsLoading = true;
    const espctl = this.espctl;
    // In parallel and on its own: the per-component table only adds rows, so it never delays or hides the summary.
    void espctl
      .call('size', { detail: 'components' })
      .then((sizeComponents) => this.store.set({ sizeComponents }))
      .catch(() => {
        // the chart then shows the totals without the "By component" rows
      });
    try {
      const [artifacts, size, manifest] = await Promise.all([
        espctl.call('artifacts.list', {}),
        espctl.call('size', {}).catch(() => null),
        espctl.call('artifacts.manifest', {}).catch(() => null),
      ]);
      this.store.set({ artifacts: artifacts.artifacts, size, manifest });
      this.step('results');
      if (manifest) void this.loadAppPartitionSize(manifest.manifest, artifacts.artifacts);
    } catch (e) {
      this.store.set({ resultsError: errorOf(e).message });
    } finally {
      this.resultsLoading = false;
    }
  }

  /** Reads the bundle's partition table (a few KiB over the firmware channel) to learn the app partition size. */
  private async loadAppPartitionSize(manifest: FlashBundleManifest, artifacts: Artifact[]) {
    const pt = manifest.parts.find((p) => p.name === 'partition-table');
    const name = pt && artifacts.find((a) => a.name === pt.file || a.name.endsWith(`/${pt.file}`))?.name;
    if (!name || !this.firmware) return;
    try {
      const { parsePartitionBinary, bootAppPartition } = await import('@aegis/esp');
      const table = parsePartitionBinary((await this.firmware.fetch(name)).data);
      const app = bootAppPartition(table.partitions);
      if (app) this.store.set({ appPartitionSize: app.size });
    } catch {
      // the size chart then shows flash used without a total
    }
  }

  async cancel() {
    try {
      await this.espctl?.call('build.cancel', {});
    } catch (e) {
      this.store.set({ error: errorOf(e) });
    }
  }

  close() {
    this.link?.close();
  }
}
