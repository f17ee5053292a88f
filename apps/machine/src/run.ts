import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { disableDefaultStun, interfaceRtcConfig, type RtcConfig } from '@aegis/peer';
import type { Logger } from 'pino';
import { Agent } from './agent.js';
import type { BuildBackend } from './build/backend.js';
import type { MachineConfig } from './config.js';
import { HttpControlApi, type ControlApi } from './control/control-api.js';
import { loadTrustedKeys } from './grants/trusted-keys.js';
import { trustOnFirstUse } from './trust-on-first-use.js';

/** Interface settings for WebRTC from the config; ICE servers always come from the grant. */
export function rtcBaseFromConfig(c: Pick<MachineConfig, 'rtcInterface'>): RtcConfig {
  return c.rtcInterface ? interfaceRtcConfig(c.rtcInterface) : {};
}

/** Wires config, keys, API client and backend into a started Agent. */
export async function runMachine(
  config: MachineConfig,
  backend: BuildBackend,
  log: Logger,
  api: ControlApi = new HttpControlApi({ baseUrl: config.apiUrl, token: config.token }),
): Promise<Agent> {
  if (!disableDefaultStun()) log.warn('could not switch off werift’s default STUN server; check the werift version');
  // Search-only for others (0711): the sandbox's own uid must traverse to its job workspace, but cannot list jobs.
  await mkdir(join(config.workDir, 'jobs'), { recursive: true, mode: 0o711 });
  await chmod(config.workDir, 0o711);
  await chmod(join(config.workDir, 'jobs'), 0o711);
  if (config.sandbox === 'none') log.warn('sandbox disabled (--sandbox=none): builds run unconfined on this host');
  const keys = config.trustedJwks
    ? await loadTrustedKeys(config.trustedJwks)
    : await trustOnFirstUse(config.apiUrl, join(config.workDir, 'trusted-jwks.json'), log);
  log.info({ kids: keys.kids() }, 'trusted grant keys loaded');
  const agent = new Agent({
    api,
    backend,
    keys,
    log,
    name: config.name,
    slots: config.slots,
    cores: config.cores,
    memoryMb: config.memoryMb,
    workDir: config.workDir,
    retentionMs: config.retentionMins * 60_000,
    resultsDiskCapBytes: config.resultsDiskCapMb * 1024 * 1024,
    issuers: config.grantIssuer,
    maxUploadBytes: config.maxUploadMb * 1024 * 1024,
    rtcBase: rtcBaseFromConfig(config),
  });
  await agent.start();
  return agent;
}
