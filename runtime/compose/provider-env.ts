import { createProviderClient, type ProviderClient } from '../provider/provider-client.js';
import { secretApiKeyLoader } from '../provider/anyfast/provider-key.js';

/** SubmitTask and PollTask reach the provider the same way: base URL from their settings, key from Secrets Manager. */
export function providerClientFrom(env: { PROVIDER_BASE_URL: string; PROVIDER_API_KEY_SECRET_ID: string }): ProviderClient {
  return createProviderClient({
    baseUrl: env.PROVIDER_BASE_URL,
    apiKey: secretApiKeyLoader(env.PROVIDER_API_KEY_SECRET_ID),
  });
}
