import type { Role } from '@aegis/protocol';

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  name: string;
  role: Role;
  keyId: string;
}
export interface MachinePrincipal {
  kind: 'machine';
  machineId: string;
  name: string;
}
export type Principal = UserPrincipal | MachinePrincipal;
