import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signatures (README "Webhooks"): each delivery carries
 * `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature`, `v1,` + the base64 HMAC-SHA256
 * of `{id}.{timestamp}.{body}`, keyed with the bytes a `whsec_` secret encodes in base64.
 * test/unit/webhook-signing.test.ts checks these against the `standardwebhooks` package.
 */

export const SECRET_PREFIX = 'whsec_';

/**
 * The secret as receivers configure it. Secrets Manager generates a random string at deploy (the
 * local stack keeps one in its data directory); its UTF-8 bytes are the key, so the `whsec_` form is
 * always valid base64, whatever characters the generator chose.
 */
export function receiverSecret(storedSecret: string): string {
  return `${SECRET_PREFIX}${Buffer.from(storedSecret, 'utf8').toString('base64')}`;
}

/** A stored secret for a new local stack: 32 random bytes, as text a file keeps unchanged. */
export function newStoredSecret(): string {
  return randomBytes(32).toString('base64url');
}

export interface SignedMessage {
  id: string;
  /** When this attempt is sent: receivers refuse timestamps too far from their clock (replays). */
  timestamp: Date;
  body: string;
}

export function signatureOf(message: SignedMessage, receiverSecretValue: string): string {
  if (!receiverSecretValue.startsWith(SECRET_PREFIX)) throw new Error(`a webhook secret starts with ${SECRET_PREFIX}`);
  const key = Buffer.from(receiverSecretValue.slice(SECRET_PREFIX.length), 'base64');
  const seconds = Math.floor(message.timestamp.getTime() / 1000);
  return `v1,${createHmac('sha256', key).update(`${message.id}.${seconds}.${message.body}`).digest('base64')}`;
}

/** The three headers of the scheme. */
export function signedHeaders(message: SignedMessage, receiverSecretValue: string): Record<string, string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.timestamp.getTime() / 1000)),
    'webhook-signature': signatureOf(message, receiverSecretValue),
  };
}
