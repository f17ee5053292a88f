/**
 * What the dashboard shows about a build machine. `GET /machines` is read leniently (field names of the API's
 * machine view, with fallbacks) so a small server-side rename shows up as "—" rather than a broken page.
 */
export interface MachineRow {
  id: string;
  name: string;
  online: boolean;
  idfVersions: string[];
  targets: string[];
  freeSlots: number | null;
  totalSlots: number | null;
  lastSeen: string | null;
}

export function toMachineRow(raw: unknown): MachineRow {
  const m = (raw ?? {}) as Record<string, unknown>;
  const cap = (m.capacity ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const strs = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  const status = typeof m.status === 'string' ? m.status : undefined;
  return {
    id: String(m.id ?? m.machine_id ?? ''),
    name: String(m.name ?? m.id ?? '?'),
    online: m.online === true || status === 'online',
    idfVersions: strs(m.idf_versions),
    targets: strs(m.targets),
    freeSlots: num(cap.free_slots ?? m.free_slots),
    totalSlots: num(cap.total_slots ?? m.total_slots),
    lastSeen:
      typeof (m.last_seen_at ?? m.last_heartbeat_at) === 'string'
        ? String(m.last_seen_at ?? m.last_heartbeat_at)
        : null,
  };
}
