import { GrantClaims } from '@aegis/protocol';

/**
 * Reads the claims of a grant WITHOUT verifying it: the client only uses them for its own send limits.
 * The machine verifies grants (apps/machine grant-verifier).
 */
export function peekGrantClaims(grant: string): GrantClaims | undefined {
  const part = grant.split('.')[1];
  if (!part) return undefined;
  try {
    const r = GrantClaims.safeParse(JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
