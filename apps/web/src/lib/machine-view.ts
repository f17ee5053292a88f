import type { MachineView } from '@aegis/protocol';

/** What the dashboard shows about a build machine, from `GET /machines` (parsed with MachineListResponse). */
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

export function toMachineRow(m: MachineView): MachineRow {
  return {
    id: m.id,
    name: m.name,
    online: m.online,
    idfVersions: m.idf_versions,
    targets: m.targets,
    freeSlots: m.capacity?.free_slots ?? null,
    totalSlots: m.capacity?.total_slots ?? null,
    lastSeen: m.last_seen_at,
  };
}
