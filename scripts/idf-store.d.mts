export function kitDir(): string;
export class KitMissingError extends Error {}
export function sandboxReachable(preferred: string, fallback: string): string;
export function testStoreDir(): string;
export function ensureIdfStore(store?: string, opts?: { quiet?: boolean }): string;
