'use client';
import { MachineKeyListResponse, type MachineKeyView } from '@aegis/protocol';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';

/** The `kid` in a compact JWS's protected header, or null when the header does not parse or names none. */
export function jwsKid(jws: string): string | null {
  const head = jws.split('.')[0];
  if (!head) return null;
  try {
    const b64 = head.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '='))) as unknown;
    const kid = json && typeof json === 'object' ? (json as { kid?: unknown }).kid : undefined;
    return typeof kid === 'string' && kid.length > 0 ? kid : null;
  } catch {
    return null;
  }
}

/** Which key checks a bundle's signature, as the Flash panel needs to know it. */
export type BundleKey =
  | { state: 'unsigned' }
  | { state: 'loading' }
  | { state: 'found'; key: MachineKeyView }
  /** Signed, but by no key a machine the user may trust has published (or the header names none). */
  | { state: 'unknown'; kid: string | null; message: string }
  | { state: 'error'; message: string };

/** Finds the key named by `kid` among the machine keys; a pure function so the refusal text is testable. */
export function bundleKeyOf(jws: string | null | undefined, keys: readonly MachineKeyView[]): BundleKey {
  if (!jws) return { state: 'unsigned' };
  const kid = jwsKid(jws);
  if (!kid)
    return {
      state: 'unknown',
      kid: null,
      message:
        'The signature (manifest.jws) names no signing key (kid), so it cannot be checked. Download the bundle again from its build.',
    };
  const key = keys.find((k) => k.kid === kid);
  if (key) return { state: 'found', key };
  return {
    state: 'unknown',
    kid,
    message: `This bundle is signed with key ${kid}, which no build machine you can use has published. It may come from another server, or from a machine that was removed; flash it only if you trust where the file came from.`,
  };
}

/** The machine keys the API publishes for this user (`GET /machines/keys`), parsed with the protocol's schema. */
export function useMachineKeys(enabled = true) {
  return useQuery({
    queryKey: ['machine-keys'],
    queryFn: async () => (await api('machines/keys', MachineKeyListResponse)).keys,
    enabled,
  });
}

/** The key a bundle's JWS names, looked up among the keys the API publishes. */
export function useBundleKey(jws: string | null | undefined): BundleKey {
  const q = useMachineKeys(!!jws);
  if (!jws) return { state: 'unsigned' };
  if (q.error)
    return {
      state: 'error',
      message: `The build machines' signing keys could not be loaded (${(q.error as Error).message}); reload the page to try again.`,
    };
  if (!q.data) return { state: 'loading' };
  return bundleKeyOf(jws, q.data);
}
