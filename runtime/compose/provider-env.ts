import { readEnv, requiredSetting } from './env.js';
import { createProviderClient, type ProviderClient } from '../provider/provider-client.js';
import { secretApiKeyLoader } from '../provider/anyfast/provider-key.js';
import * as z from '../domain/zod.js';

/** SubmitTask and PollTask reach the provider the same way: base URL from env, key from Secrets Manager. */
export function providerClientFromEnv(): ProviderClient {
  const env = readEnv(z.object({ PROVIDER_BASE_URL: z.url(), PROVIDER_API_KEY_SECRET_ID: requiredSetting }));
  return createProviderClient({
    baseUrl: env.PROVIDER_BASE_URL,
    apiKey: secretApiKeyLoader(env.PROVIDER_API_KEY_SECRET_ID),
  });
}
