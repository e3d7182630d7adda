import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_TOKEN_PATTERN, API_TOKEN_PREFIX } from '../../contracts/drop-in.js';

/**
 * The operator's API tokens for the drop-in provider API (contracts/drop-in.ts has their form). The
 * secret is 256 random bits, so one SHA-256 is enough to store it: there is nothing to guess that a
 * slow hash would protect, and the authorizer checks it in microseconds.
 */

/** One token as the Tokens table holds it: never the secret. */
export interface TokenRecord {
  tokenId: string;
  /** SHA-256 of the secret part, hex. */
  secretSha256: string;
  /** The operator's label, e.g. who the token was given to. */
  name: string;
  createdAt: string;
  revokedAt?: string;
}

export interface IssuedToken {
  /** The whole token, shown to the operator once and never stored. */
  token: string;
  record: TokenRecord;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export function issueToken(name: string, now: Date, random: (bytes: number) => Buffer = randomBytes): IssuedToken {
  const tokenId = random(8).toString('hex');
  const secret = random(32).toString('base64url');
  return {
    token: `${API_TOKEN_PREFIX}${tokenId}_${secret}`,
    record: { tokenId, secretSha256: sha256(secret), name, createdAt: now.toISOString() },
  };
}

/** The id and secret of a token, or undefined when it is not of the form the operator hands out. */
export function parseToken(token: string): { tokenId: string; secret: string } | undefined {
  const match = API_TOKEN_PATTERN.exec(token);
  return match ? { tokenId: match[1]!, secret: match[2]! } : undefined;
}

/** Compared in constant time, so the answer's timing says nothing about how much of the hash matched. */
export function secretMatches(secret: string, record: Pick<TokenRecord, 'secretSha256'>): boolean {
  const sent = Buffer.from(sha256(secret), 'hex');
  const stored = Buffer.from(record.secretSha256, 'hex');
  return sent.length === stored.length && timingSafeEqual(sent, stored);
}
