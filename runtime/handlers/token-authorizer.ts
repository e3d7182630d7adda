import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { TOKEN_CONTEXT_KEY } from '../../contracts/drop-in.js';
import { HANDLER } from '../../contracts/handlers.js';
import { SERVICE_NAMES } from '../../contracts/telemetry.js';
import { authorizeBearer } from '../auth/authorize-bearer.js';
import { tokenAuthorizerFromEnv } from '../compose/token-deps.js';

const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.tokenAuthorizer] });
const { tokens } = tokenAuthorizerFromEnv();

/**
 * API Gateway's TOKEN authorizer of the drop-in API: a known, unrevoked token may invoke the one
 * method it was called for, and the intake learns which token it was (requestContext.authorizer).
 * Throwing `Unauthorized` is how a Lambda authorizer makes API Gateway answer its 401 (the
 * UNAUTHORIZED gateway response, in the provider's shape). The token is never logged, only its id.
 */
export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const verdict = await authorizeBearer(event.authorizationToken, tokens);
  if (!verdict.allowed) {
    logger.info('token refused', { reason: verdict.reason, ...(verdict.tokenId ? { tokenId: verdict.tokenId } : {}) });
    throw new Error('Unauthorized');
  }
  return {
    principalId: `token:${verdict.tokenId}`,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
    context: { [TOKEN_CONTEXT_KEY]: verdict.tokenId },
  };
}
