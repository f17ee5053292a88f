import type { MachineKeyView } from '@aegis/protocol';
import type { MachineRow } from '../db/entities.js';

/**
 * The bundle-signing keys among `rows` that a user may check bundles against: those of machines in `visible`
 * (every machine when `visible` is 'all'). A key without a `kid` cannot be named by a bundle's JWS, so it is left
 * out rather than guessed at.
 */
export function machineKeyViews(
  rows: MachineRow[],
  visible: ReadonlySet<string> | 'all',
  isOnline: (m: MachineRow) => boolean,
): MachineKeyView[] {
  const keys: MachineKeyView[] = [];
  for (const m of rows) {
    if (visible !== 'all' && !visible.has(m.id)) continue;
    const jwk = m.bundlePublicJwk;
    if (!jwk || typeof jwk.kid !== 'string' || jwk.kid.length === 0) continue;
    keys.push({ kid: jwk.kid, machine_id: m.id, machine_name: m.name, online: isOnline(m), public_jwk: jwk });
  }
  return keys;
}
