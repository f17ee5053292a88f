import { GrantClaims } from '@aegis/protocol';
import { base64UrlToText } from './bytes.js';

/**
 * Reads the claims of a grant WITHOUT verifying it: the client only uses them for its own send limits.
 * The machine verifies grants (apps/machine grant-verifier). Browser-safe: the dashboard reads its limits too.
 */
export function peekGrantClaims(grant: string): GrantClaims | undefined {
  const part = grant.split('.')[1];
  if (!part) return undefined;
  try {
    const r = GrantClaims.safeParse(JSON.parse(base64UrlToText(part)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
