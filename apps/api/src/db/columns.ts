import type { ValueTransformer } from 'typeorm';

/** Times are epoch milliseconds in a bigint column; pg returns bigint as a string, so convert back. */
export const msTransformer: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | number | null) => (v == null ? null : Number(v)),
};

/** JSON stored as text (portable across SQLite and PostgreSQL). */
export const jsonTransformer: ValueTransformer = {
  to: (v: unknown) => (v === undefined ? undefined : v === null ? null : JSON.stringify(v)),
  from: (v: string | null) => (v == null ? null : JSON.parse(v)),
};

/** Booleans as 0/1 integers (portable). */
export const boolTransformer: ValueTransformer = {
  to: (v: boolean | undefined) => (v === undefined ? undefined : v ? 1 : 0),
  from: (v: number | null) => v === 1 || (v as unknown) === '1',
};
