import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { webhookSecret } from '../../cli/commands/webhook-secret.js';
import { localWebhookSecret } from '../../local/stack/webhook-secret.js';
import { receiverSecret, signedHeaders } from '../../runtime/webhooks/signing.js';

/**
 * `video-pipeline webhook-secret`: the local stack's secret from its data directory, a deployed
 * one through Secrets Manager's GetSecretValue (here a local HTTP server speaking its JSON protocol,
 * reached through the SDK's own AWS_ENDPOINT_URL_SECRETS_MANAGER).
 */

let dataDir: string;
let secretsManager: Server;
let endpoint: string;
const asked: { target: string; secretId: string; authorization: string }[] = [];
const STORED = 'GeneratedAtDeployByCloudFormation0123456789abcdefghij';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'webhook-secret-'));
  secretsManager = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      asked.push({ target: String(request.headers['x-amz-target']), secretId: SecretId, authorization: String(request.headers.authorization) });
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (SecretId === 'missing') {
        response.writeHead(400).end(JSON.stringify({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }));
      } else {
        response.writeHead(200).end(JSON.stringify({ ARN: `arn:aws:secretsmanager:eu-west-1:1:secret:${SecretId}`, Name: SecretId, SecretString: STORED }));
      }
    });
  });
  await new Promise<void>((resolve) => secretsManager.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(secretsManager.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => secretsManager.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

afterEach(() => vi.restoreAllMocks());

async function run(args: string[], env: NodeJS.ProcessEnv) {
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  const code = await webhookSecret(args, env).catch((error: { exitCode?: number; message: string }) => {
    printed.push(error.message);
    return error.exitCode;
  });
  return { code, printed };
}

describe('video-pipeline webhook-secret', () => {
  it('local stack: the whsec_ form of the secret in the data directory, which verifies what the stack signs', async () => {
    const stored = await localWebhookSecret(dataDir);
    expect(await localWebhookSecret(dataDir)).toBe(stored); // kept across restarts
    const { code, printed } = await run([], { LOCAL_DATA_DIR: dataDir });
    expect(code).toBe(0);
    expect(printed).toEqual([receiverSecret(stored)]);
    const headers = signedHeaders({ id: 'msg_1', timestamp: new Date(), body: '{}' }, receiverSecret(stored));
    expect(() => new Webhook(printed[0]!).verify('{}', headers)).not.toThrow();
  });

  it('local stack never started here: exit 3, saying what to do', async () => {
    const { code, printed } = await run([], { LOCAL_DATA_DIR: join(dataDir, 'nothing') });
    expect(code).toBe(3);
    expect(printed[0]).toMatch(/npm start/);
  });

  // Credentials from the environment, as the CLI's chain finds them; the endpoint is the SDK's own override.
  const withEndpoint = () => {
    const env = { AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  };

  it('deployed stack: GetSecretValue on the default name, signed for the API’s region; prints the whsec_ form', async () => {
    withEndpoint();
    const { code, printed } = await run(['--api', 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1'], { ...process.env });
    expect(code).toBe(0);
    expect(printed).toEqual([receiverSecret(STORED)]);
    expect(asked.at(-1)).toMatchObject({ target: 'secretsmanager.GetSecretValue', secretId: 'video-pipeline/webhook-signing-secret' });
    expect(asked.at(-1)!.authorization).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/);
    vi.unstubAllEnvs();
  });

  it('--secret-id (or VIDEO_PIPELINE_WEBHOOK_SECRET) names another secret; one that does not exist is exit 2', async () => {
    withEndpoint();
    await run(['--api', 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1', '--secret-id', 'acme/hooks'], { ...process.env });
    expect(asked.at(-1)!.secretId).toBe('acme/hooks');
    await run(['--api', 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1'], { ...process.env, VIDEO_PIPELINE_WEBHOOK_SECRET: 'from-env' });
    expect(asked.at(-1)!.secretId).toBe('from-env');
    const { code, printed } = await run(['--api', 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1', '--secret-id', 'missing'], { ...process.env });
    expect(code).toBe(2);
    expect(printed[0]).toMatch(/ResourceNotFoundException/);
    vi.unstubAllEnvs();
  });

  it('an argument it does not take is a usage error (exit 2)', async () => {
    expect((await run(['extra'], { LOCAL_DATA_DIR: dataDir })).code).toBe(2);
    expect((await run(['--nope'], { LOCAL_DATA_DIR: dataDir })).code).toBe(2);
  });
});
