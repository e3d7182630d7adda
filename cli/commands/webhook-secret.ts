import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { WEBHOOK_SECRET_FILE } from '../../local/stack/webhook-secret.js';
import { receiverSecret } from '../../runtime/webhooks/signing.js';
import { parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { EXIT, UnreachableError, UsageError, type ExitCode } from '../errors.js';
import { regionOfApi } from '../region.js';
import { defaultCredentials } from '../sigv4.js';
import { targetKind } from '../target.js';
import { USAGE } from '../usage.js';

/** The secret's name when neither --secret-id nor VIDEO_PIPELINE_WEBHOOK_SECRET names it (context webhookSecretName's default). */
export const DEFAULT_WEBHOOK_SECRET_NAME = 'video-pipeline/webhook-signing-secret';

/** The local stack's: the value it keeps in its data directory (written at its first start). */
async function localSecret(env: NodeJS.ProcessEnv): Promise<string> {
  const file = resolve(env.LOCAL_DATA_DIR || '.local', WEBHOOK_SECRET_FILE);
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  throw new UnreachableError(`no local stack has run here yet (no ${file}): start one with \`npm start\`, or pass --api <url>`);
}

/** A deployed stack's: Secrets Manager's GetSecretValue, with the credentials the CLI signs with. */
async function deployedSecret(url: URL, secretId: string, env: NodeJS.ProcessEnv): Promise<string> {
  const client = new SecretsManagerClient({ region: regionOfApi(url, env), credentials: defaultCredentials() });
  try {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!answer.SecretString) throw new UsageError(`secret ${secretId} has no string value`);
    return answer.SecretString;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if ($metadata?.httpStatusCode !== undefined && $metadata.httpStatusCode < 500) {
      throw new UsageError(`Secrets Manager refused GetSecretValue on ${secretId}: ${name}: ${(error as Error).message}`, { cause: error });
    }
    throw new UnreachableError(`Secrets Manager could not be reached for ${secretId}: ${(error as Error).message}`, { cause: error });
  } finally {
    client.destroy();
  }
}

/** `webhook-secret`: prints the `whsec_…` secret receivers verify deliveries with (README "Webhooks"). */
export async function webhookSecret(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, { ...TARGET_OPTIONS, 'secret-id': { type: 'string' } }, USAGE['webhook-secret']);
  if (values.help) {
    console.log(USAGE['webhook-secret']);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`webhook-secret takes no argument\n${USAGE['webhook-secret']}`);
  const target = targetKind({ api: values.api, env });
  const stored =
    target.kind === 'local'
      ? await localSecret(env)
      : await deployedSecret(target.url, values['secret-id'] ?? env.VIDEO_PIPELINE_WEBHOOK_SECRET ?? DEFAULT_WEBHOOK_SECRET_NAME, env);
  console.log(receiverSecret(stored));
  return EXIT.OK;
}
