import type { RemoteSession as PeerSession } from '@aegis/peer';
// rtc-base, not the package index: loads no werift (that waits for the first remote session).
import { interfaceRtcConfig, loopbackRtcConfig, type RtcConfig } from '@aegis/peer/rtc-base';
import { RpcErrorCode, type BuildStatus, type ChannelName, type LogLine } from '@aegis/protocol';
import { EspctlError } from '../errors.js';
import { unreachable } from './control-client.js';
import type { RemoteBuildRequest, RemoteConnector, RemoteSession } from './remote-connector.js';

export interface PeerConnectorOptions {
  baseUrl: string;
  apiKey: string;
  /** werift settings; absent: the grant's ICE servers only (see libs/peer). */
  rtcConfig?: RtcConfig;
  fetch?: typeof fetch;
}

/**
 * `AEGIS_RTC_INTERFACE=<ipv4>` binds WebRTC to one address (same variable as the machine): 127.0.0.1 gives the
 * loopback-only config tests use inside a private network namespace.
 */
export function rtcConfigFromEnv(env: NodeJS.ProcessEnv): RtcConfig | undefined {
  const ip = env.AEGIS_RTC_INTERFACE?.trim();
  if (!ip) return undefined;
  return ip === '127.0.0.1' ? { ...loopbackRtcConfig } : interfaceRtcConfig(ip);
}

type Peer = typeof import('@aegis/peer');

const RPC_CODES: Record<number, string> = {
  [RpcErrorCode.InvalidParams]: 'invalid_input',
  [RpcErrorCode.MethodNotFound]: 'method_not_found',
  [RpcErrorCode.UploadRejected]: 'upload_rejected',
  [RpcErrorCode.BuildBusy]: 'build_busy',
  [RpcErrorCode.NotFound]: 'not_found',
  [RpcErrorCode.BuildFailed]: 'build_failed',
  [RpcErrorCode.StoreError]: 'store_error',
  [RpcErrorCode.FrameTooLarge]: 'frame_too_large',
};

/** JSON-RPC errors from the machine carry a numeric code; give them our string codes. */
function rpcToEspctl(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'number' || !(err instanceof Error)) return err;
  return new EspctlError(RPC_CODES[code] ?? 'machine_error', err.message);
}

function adapt(s: PeerSession, peer: Peer): RemoteSession {
  const espctl = s.espctl;
  const firmware = s.firmware;
  if (!espctl) throw new EspctlError('channel_missing', 'The machine did not open the espctl channel.');
  return {
    jobId: s.jobId,
    machineId: s.machineId,
    call: (method, params) =>
      espctl.call(method, params, { timeoutMs: 120_000 }).catch((err: unknown) => {
        throw rpcToEspctl(err);
      }),
    uploadProject: async (tar, onProgress) => {
      await espctl.uploadProject(tar, { onProgress });
    },
    getFile: async (name) => {
      if (!firmware) throw new EspctlError('channel_missing', 'The machine did not open the firmware channel.');
      let resumeFrom: Uint8Array | undefined;
      for (let attempt = 0; ; attempt++) {
        try {
          return (await firmware.fetch(name, { resumeFrom })).data;
        } catch (err) {
          if (err instanceof peer.TransferInterruptedError && attempt < 2 && firmware.channel.readyState === 'open') {
            resumeFrom = err.partial;
            continue;
          }
          throw err;
        }
      }
    },
    onLog: (fn: (lines: LogLine[]) => void) => espctl.on('logs', fn),
    onStatus: (fn: (st: BuildStatus) => void) => espctl.on('status', fn),
    ...(s.emulator ? { emulator: s.emulator } : {}),
    close: () => s.close(),
  };
}

const BUSY_RETRY_MS = [300, 700, 1500];

/**
 * Retry while every fitting machine is busy: usually this user's own previous session is still being released
 * (closing a session frees the machine a moment later). Other refusals are final.
 */
async function whileBusy<T>(baseUrl: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TypeError && /fetch failed/i.test(err.message)) throw unreachable(baseUrl, err);
      const code = (err as { code?: unknown }).code;
      const busy = code === 'no_machine' && /busy/i.test((err as Error).message);
      if (!busy || i >= BUSY_RETRY_MS.length) throw err;
      await new Promise((r) => setTimeout(r, BUSY_RETRY_MS[i]));
    }
  }
}

/** Remote sessions over WebRTC (libs/peer) for one user against one control API. */
export function createPeerConnector(o: PeerConnectorOptions): RemoteConnector {
  const base = { baseUrl: o.baseUrl, apiKey: o.apiKey, rtcConfig: o.rtcConfig, fetch: o.fetch };
  return {
    async start(req: RemoteBuildRequest) {
      const peer = await import('@aegis/peer');
      const s = await whileBusy(o.baseUrl, () =>
        peer.startRemoteSession({
          ...base,
          // Every signaling event names the job; the first arrives as soon as the job is queued.
          ...(req.onJobId ? { onEvent: (e: { job_id: string }) => req.onJobId!(e.job_id) } : {}),
          request: {
            required_channels: ['espctl', 'firmware'],
            ...(req.target ? { target: req.target } : {}),
            ...(req.idf_version ? { idf_version: req.idf_version } : {}),
            ...(req.timeout_secs ? { timeout_secs: req.timeout_secs } : {}),
          },
        }),
      );
      return adapt(s, peer);
    },
    async attach(jobId: string, opts?: { emulator?: boolean }) {
      const peer = await import('@aegis/peer');
      // The emulator channel only when asked: the grant names exactly the channels a session uses.
      const channels: ChannelName[] = opts?.emulator ? ['espctl', 'emulator'] : ['espctl', 'firmware'];
      return adapt(await whileBusy(o.baseUrl, () => peer.attachToJob({ ...base, jobId, channels })), peer);
    },
  };
}
