export function kitDir(): string;
export class KitMissingError extends Error {}
export function ensureIdfStore(store?: string, opts?: { quiet?: boolean }): string;
