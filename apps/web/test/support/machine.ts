import { createMachineToken, realIdfStore, type StartedApi } from '@aegis/testkit';
import { startMachine, type StartedMachine } from '@aegis/testkit/machine';

/**
 * One real build machine for the dashboard's suites: real ESP-IDF v5.1.6 from the kit (provisioned once; a missing
 * kit throws with what to do) and every job in the bubblewrap sandbox, as in production.
 */
export async function startBuildMachine(
  api: StartedApi,
  o: { name: string; slots: number; env?: Record<string, string> },
): Promise<StartedMachine> {
  const storeRoot = realIdfStore();
  const { token } = await createMachineToken(api.url, api.adminKey, o.name);
  // The machine's name comes from its token; AEGIS_MACHINE_NAME keeps the heartbeat's name the same.
  return startMachine({
    apiUrl: api.url,
    token,
    jwksPath: api.jwksPath,
    storeRoot,
    sandbox: 'bwrap',
    env: { AEGIS_MACHINE_NAME: o.name, AEGIS_MACHINE_SLOTS: String(o.slots), ...o.env },
  });
}
