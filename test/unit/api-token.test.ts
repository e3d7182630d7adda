import { describe, expect, it } from 'vitest';
import { API_TOKEN_PATTERN, BEARER_VALIDATION_REGEX } from '../../contracts/drop-in.js';
import { issueToken, parseToken, secretMatches, type TokenRecord } from '../../runtime/auth/api-token.js';
import { authorizeBearer } from '../../runtime/auth/authorize-bearer.js';

/** The operator's API tokens (runtime/auth/api-token.ts) and the authorizer's check (authorize-bearer.ts). */

const NOW = new Date('2026-11-24T12:00:00Z');

function store(...records: TokenRecord[]) {
  const byId = new Map(records.map((record) => [record.tokenId, record]));
  const asked: string[] = [];
  return { asked, get: async (tokenId: string) => (asked.push(tokenId), byId.get(tokenId)) };
}

describe('issueToken', () => {
  it('makes vpt_<16 hex>_<43 base64url>, keeps only the SHA-256 of the secret, and parses back', () => {
    const { token, record } = issueToken('acme', NOW);
    expect(token).toMatch(API_TOKEN_PATTERN);
    expect(new RegExp(BEARER_VALIDATION_REGEX).test(`Bearer ${token}`)).toBe(true);
    const parsed = parseToken(token)!;
    expect(parsed.tokenId).toBe(record.tokenId);
    expect(record).toEqual({ tokenId: parsed.tokenId, secretSha256: expect.stringMatching(/^[0-9a-f]{64}$/), name: 'acme', createdAt: NOW.toISOString() });
    expect(JSON.stringify(record)).not.toContain(parsed.secret);
    expect(secretMatches(parsed.secret, record)).toBe(true);
    expect(secretMatches(`${parsed.secret.slice(0, -1)}x`, record)).toBe(false);
  });

  it('draws 64 bits of id and 256 bits of secret from its random source', () => {
    const sizes: number[] = [];
    issueToken('n', NOW, (bytes) => (sizes.push(bytes), Buffer.alloc(bytes, 7)));
    expect(sizes).toEqual([8, 32]);
    expect(issueToken('a', NOW).token).not.toBe(issueToken('a', NOW).token);
  });

  it('parseToken refuses anything not of that form', () => {
    const { token } = issueToken('n', NOW);
    for (const text of ['', token.slice(0, -1), `${token}x`, token.replace('vpt_', 'vpx_'), token.toUpperCase(), ` ${token}`])
      expect(parseToken(text), text).toBeUndefined();
  });
});

describe('authorizeBearer', () => {
  const { token, record } = issueToken('acme', NOW);
  const revoked = issueToken('gone', NOW);
  const tokens = store(record, { ...revoked.record, revokedAt: NOW.toISOString() });

  it('allows a known token and names it', async () => {
    expect(await authorizeBearer(`Bearer ${token}`, tokens)).toEqual({ allowed: true, tokenId: record.tokenId });
  });

  it('refuses a missing, non-Bearer or malformed header without reading the table', async () => {
    const before = tokens.asked.length;
    for (const header of [undefined, '', 'Bearer', `Basic ${token}`, `bearer ${token}`, 'Bearer local-provider-key']) {
      const verdict = await authorizeBearer(header, tokens);
      expect(verdict.allowed, String(header)).toBe(false);
    }
    expect(tokens.asked.length).toBe(before);
  });

  it('refuses an unknown id, a wrong secret and a revoked token, naming the id but never the token', async () => {
    const unknown = issueToken('never stored', NOW).token;
    const wrongSecret = `${token.slice(0, 21)}${'A'.repeat(43)}`;
    expect(await authorizeBearer(`Bearer ${unknown}`, tokens)).toMatchObject({ allowed: false, reason: 'unknown token' });
    expect(await authorizeBearer(`Bearer ${wrongSecret}`, tokens)).toEqual({ allowed: false, reason: 'wrong secret', tokenId: record.tokenId });
    expect(await authorizeBearer(`Bearer ${revoked.token}`, tokens)).toEqual({ allowed: false, reason: 'revoked token', tokenId: revoked.record.tokenId });
  });

  it('says "wrong secret", not "revoked", to someone who knows only a revoked token’s id', async () => {
    const guessed = `vpt_${revoked.record.tokenId}_${'B'.repeat(43)}`;
    expect(await authorizeBearer(`Bearer ${guessed}`, tokens)).toMatchObject({ allowed: false, reason: 'wrong secret' });
  });
});
