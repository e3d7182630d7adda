import type { TokenRepository } from '../aws/token-repository.js';
import { parseToken, secretMatches } from './api-token.js';

export type BearerVerdict =
  | { allowed: true; tokenId: string }
  /** Why, for the log: never the token itself (its id only, when it had one). */
  | { allowed: false; reason: 'no bearer token' | 'malformed token' | 'unknown token' | 'revoked token' | 'wrong secret'; tokenId?: string };

/** Checks an Authorization header against the operator's tokens. */
export async function authorizeBearer(authorization: string | undefined, tokens: Pick<TokenRepository, 'get'>): Promise<BearerVerdict> {
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  if (!match) return { allowed: false, reason: 'no bearer token' };
  const parsed = parseToken(match[1]!);
  if (!parsed) return { allowed: false, reason: 'malformed token' };
  const { tokenId, secret } = parsed;
  const record = await tokens.get(tokenId);
  if (!record) return { allowed: false, reason: 'unknown token', tokenId };
  // The secret first: a revoked id alone (say, from a job record) must not learn that it was revoked.
  if (!secretMatches(secret, record)) return { allowed: false, reason: 'wrong secret', tokenId };
  if (record.revokedAt) return { allowed: false, reason: 'revoked token', tokenId };
  return { allowed: true, tokenId };
}
