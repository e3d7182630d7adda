import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The provider key lives in Secrets Manager: read on first use, then kept for the life of the
 * execution environment, so it never sits in an environment variable or the template.
 */
export function secretApiKeyLoader(secretId: string, client = new SecretsManagerClient({})): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= client.send(new GetSecretValueCommand({ SecretId: secretId })).then((answer) => {
      const key = answer.SecretString?.trim();
      if (!key) throw new Error(`secret ${secretId} has no string value`);
      return key;
    });
    cached.catch(() => {
      cached = undefined;
    });
    return cached;
  };
}
