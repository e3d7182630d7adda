import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import type { CfnTemplate } from './cloud-assembly.js';
import { handlerFileOfFunction, type HandlerLoader } from './handler-modules.js';
import { LOCAL_ACCOUNT, LOCAL_REGION, logicalIdsOfType } from './template-resolver.js';

/**
 * API Gateway's Lambda TOKEN authorizer, locally: the methods the template gives a CUSTOM authorizer
 * (the drop-in API's provider routes) run the very authorizer function first, as API Gateway does: a
 * missing header or one that fails the authorizer's validation expression is refused without it, a
 * thrown `Unauthorized` is the API's UNAUTHORIZED gateway response (its body from the template), an
 * allow lets the request on with the authorizer's context in `requestContext.authorizer`.
 */

export type AuthorizerOutcome = { allowed: true; authorizer: Record<string, unknown> } | { allowed: false; statusCode: number; body: string };

export interface LocalAuthorizer {
  /** Undefined when the route takes no authorizer (the rest of the local API, which has no auth). */
  authorize(method: string, path: string, headers: Readonly<Record<string, readonly string[]>>): Promise<AuthorizerOutcome | undefined>;
}

interface Route {
  method: string;
  pattern: RegExp;
}

type Properties = Record<string, unknown>;

/** The resource path of an AWS::ApiGateway::Resource, up to the API's root. */
function resourcePath(template: CfnTemplate, resourceId: unknown): string {
  const ref = (resourceId as { Ref?: string }).Ref;
  if (!ref) return ''; // { Fn::GetAtt: [api, RootResourceId] }
  const resource = template.Resources[ref]!.Properties as Properties;
  return `${resourcePath(template, resource.ParentId)}/${String(resource.PathPart)}`;
}

/** The one Lambda function an intrinsic value names (an authorizer's URI), by its `Fn::GetAtt [fn, Arn]`. */
function functionNamedIn(template: CfnTemplate, value: unknown): string | undefined {
  if (Array.isArray(value)) return value.map((item) => functionNamedIn(template, item)).find(Boolean);
  if (value === null || typeof value !== 'object') return undefined;
  const getAtt = (value as Properties)['Fn::GetAtt'];
  if (Array.isArray(getAtt) && template.Resources[getAtt[0] as string]?.Type === 'AWS::Lambda::Function') return getAtt[0] as string;
  return Object.values(value)
    .map((item) => functionNamedIn(template, item))
    .find(Boolean);
}

/** A gateway response's body: its template (plain substitution, as API Gateway does), with the two context variables ours use. */
function gatewayResponse(template: CfnTemplate, apiId: string, type: string, fallback: string, message: string): { statusCode: number; body: string } {
  const response =
    logicalIdsOfType(template, 'AWS::ApiGateway::GatewayResponse')
      .map((id) => template.Resources[id]!.Properties as Properties)
      .find((properties) => (properties.RestApiId as { Ref?: string }).Ref === apiId && properties.ResponseType === type) ??
    logicalIdsOfType(template, 'AWS::ApiGateway::GatewayResponse')
      .map((id) => template.Resources[id]!.Properties as Properties)
      .find((properties) => (properties.RestApiId as { Ref?: string }).Ref === apiId && properties.ResponseType === fallback);
  const statusCode = Number(response?.StatusCode ?? (type === 'UNAUTHORIZED' ? 401 : type === 'ACCESS_DENIED' ? 403 : 500));
  const body = ((response?.ResponseTemplates as Record<string, string> | undefined)?.['application/json'] ?? '{"message":$context.error.messageString}')
    .replaceAll('$context.error.messageString', JSON.stringify(message))
    .replaceAll('$context.error.responseType', type);
  return { statusCode, body };
}

/** IAM's wildcard match of a policy resource against the method ARN. */
const covers = (pattern: string, arn: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(arn);

function allows(result: APIGatewayAuthorizerResult, methodArn: string): boolean {
  const matching = result.policyDocument.Statement.filter((statement) => {
    const actions = [(statement as { Action?: string | string[] }).Action ?? []].flat();
    const resources = [(statement as { Resource?: string | string[] }).Resource ?? []].flat();
    return (
      actions.some((action) => action === '*' || action === 'execute-api:*' || action === 'execute-api:Invoke') &&
      resources.some((resource) => covers(resource, methodArn))
    );
  });
  return matching.some((statement) => statement.Effect === 'Allow') && !matching.some((statement) => statement.Effect === 'Deny');
}

export function localAuthorizerOf(template: CfnTemplate, loadHandler: HandlerLoader): LocalAuthorizer | undefined {
  const [authorizerId, ...others] = logicalIdsOfType(template, 'AWS::ApiGateway::Authorizer');
  if (!authorizerId) return undefined;
  if (others.length > 0) throw new Error('the local HTTP API runs one authorizer; the template has several');
  const authorizer = template.Resources[authorizerId]!.Properties as Properties;
  if (authorizer.Type !== 'TOKEN') throw new Error(`the local HTTP API runs TOKEN authorizers only, not ${String(authorizer.Type)}`);
  const header = /^method\.request\.header\.(.+)$/.exec(String(authorizer.IdentitySource))?.[1]?.toLowerCase();
  if (!header) throw new Error(`unsupported identity source ${String(authorizer.IdentitySource)}`);
  const validation = typeof authorizer.IdentityValidationExpression === 'string' ? new RegExp(authorizer.IdentityValidationExpression) : undefined;
  const functionId = functionNamedIn(template, authorizer.AuthorizerUri);
  if (!functionId) throw new Error(`authorizer ${authorizerId} names no function of the template`);
  const handlerFile = handlerFileOfFunction(template, functionId);
  const apiId = (authorizer.RestApiId as { Ref: string }).Ref;
  const stage = logicalIdsOfType(template, 'AWS::ApiGateway::Stage')
    .map((id) => template.Resources[id]!.Properties as Properties)
    .find((properties) => (properties.RestApiId as { Ref?: string }).Ref === apiId)?.StageName;

  const routes: Route[] = logicalIdsOfType(template, 'AWS::ApiGateway::Method')
    .map((id) => template.Resources[id]!.Properties as Properties)
    .filter((method) => method.AuthorizationType === 'CUSTOM' && (method.AuthorizerId as { Ref?: string }).Ref === authorizerId)
    .map((method) => {
      const path = resourcePath(template, method.ResourceId);
      const pattern = path
        .split('/')
        .map((part) => (/^\{.+\}$/.test(part) ? '[^/]+' : part.replace(/[.+^$()|[\]\\]/g, '\\$&')))
        .join('/');
      // A trailing slash reaches the same resource, as on API Gateway.
      return { method: String(method.HttpMethod), pattern: new RegExp(`^${pattern}/?$`) };
    });

  return {
    async authorize(method, path, headers) {
      const route = routes.find((candidate) => candidate.method === method && candidate.pattern.test(path));
      if (!route) return undefined;
      const unauthorized = () => ({ allowed: false as const, ...gatewayResponse(template, apiId, 'UNAUTHORIZED', 'DEFAULT_4XX', 'Unauthorized') });
      // API Gateway reads the single-value header: the last one sent.
      const token = Object.entries(headers)
        .find(([name]) => name.toLowerCase() === header)?.[1]
        .at(-1);
      if (!token || (validation && !validation.test(token))) return unauthorized();
      const methodArn = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${apiId}/${String(stage)}/${method}${path}`;
      const event: APIGatewayTokenAuthorizerEvent = { type: 'TOKEN', authorizationToken: token, methodArn };
      let result: APIGatewayAuthorizerResult;
      try {
        result = (await (await loadHandler(handlerFile))(event)) as APIGatewayAuthorizerResult;
      } catch (error) {
        if ((error as Error).message === 'Unauthorized') return unauthorized();
        return { allowed: false, ...gatewayResponse(template, apiId, 'AUTHORIZER_FAILURE', 'DEFAULT_5XX', 'Internal server error') };
      }
      if (!allows(result, methodArn)) {
        return { allowed: false, ...gatewayResponse(template, apiId, 'ACCESS_DENIED', 'DEFAULT_4XX', 'User is not authorized to access this resource') };
      }
      return { allowed: true, authorizer: { principalId: result.principalId, ...result.context } };
    },
  };
}
