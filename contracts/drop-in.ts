/**
 * The drop-in provider API: the provider's own routes (docs/provider-api.md), served by the pipeline
 * in the provider's shapes, for programs written against the provider. Infrastructure routes them and
 * checks the Bearer token's form; runtime answers them and checks the token itself.
 */

/** The provider's create route; a task is `<this>/{task_id}`. */
export const PROVIDER_GENERATIONS_PATH = '/v1/video/generations';

/** The stage of the Bearer-token API: a provider client's base URL is `https://<id>.execute-api.<region>.amazonaws.com/provider`. */
export const DROP_IN_STAGE = 'provider';

/**
 * An API token as the operator hands it out: `vpt_<token id>_<secret>`, the id 16 hex digits (stored,
 * listed, recorded on jobs), the secret 32 random bytes in base64url (only its SHA-256 is stored).
 */
export const API_TOKEN_PREFIX = 'vpt_';
export const API_TOKEN_PATTERN = /^vpt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * What API Gateway checks before it runs the authorizer: the Authorization header is `Bearer ` and a
 * token of that form. Anything else is refused without a Lambda invocation.
 */
export const BEARER_VALIDATION_REGEX = `^Bearer ${API_TOKEN_PATTERN.source.slice(1, -1)}$`;

/** The key of the authorizer's context that names the token (requestContext.authorizer.tokenId). */
export const TOKEN_CONTEXT_KEY = 'tokenId';

/**
 * The gateway's answer to a missing, malformed, unknown or revoked token: its 401, in the gateway's
 * error shape (docs/provider-api.md, Errors). API Gateway sends it as a gateway response
 * (UNAUTHORIZED), before any function of ours runs.
 */
export const UNAUTHORIZED_BODY = {
  error: { message: 'Invalid API key', type: 'authentication_error', code: 'invalid_api_key' },
} as const;
