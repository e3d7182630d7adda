import { HANDLER } from '../../contracts/handlers.js';
import { createTokenRepository, type TokenRepository } from '../aws/token-repository.js';
import { createDocumentClient } from './aws-clients.js';
import { functionEnv } from './env.js';

/** The token authorizer's one dependency, built once per cold start. */
export function tokenAuthorizerFromEnv(): { tokens: TokenRepository } {
  const env = functionEnv(HANDLER.tokenAuthorizer);
  return { tokens: createTokenRepository(createDocumentClient(), env.TOKENS_TABLE) };
}
