import { HANDLER_METADATA_KEY } from '../../infra/constructs/house-function.js';
import type { CfnTemplate } from './cloud-assembly.js';
import { localArn, logicalIdsOfType, resolveIntrinsics } from './template-resolver.js';

/**
 * Which handler module runs each function of the template, and loading it. Every path into a function
 * (a task state, an EventBridge target, a schedule, the HTTP API) goes through here, so a function is
 * bound the same way whoever calls it, and the pairing lives in one place: the template's metadata.
 */

export type Handler = (event: unknown) => Promise<unknown>;
export type HandlerLoader = (handlerFile: string) => Promise<Handler>;

// The metadata value becomes part of an import path: keep it a plain file name under runtime/handlers/.
const HANDLER_FILE = /^[a-z0-9][a-z0-9-]*$/;

export function handlerFileOfFunction(template: CfnTemplate, logicalId: string): string {
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::Lambda::Function') throw new Error(`${logicalId} is not a Lambda function of the template`);
  const handlerFile = resource.Metadata?.[HANDLER_METADATA_KEY];
  if (typeof handlerFile !== 'string' || !HANDLER_FILE.test(handlerFile)) {
    throw new Error(`function ${logicalId} has no "${HANDLER_METADATA_KEY}" metadata naming its handler file, so it cannot run locally`);
  }
  return handlerFile;
}

/** The function whose metadata names `handlerFile`: each handler file is one function of the template. */
export function functionOfHandlerFile(template: CfnTemplate, handlerFile: string): string {
  const matches = logicalIdsOfType(template, 'AWS::Lambda::Function').filter((id) => template.Resources[id]!.Metadata?.[HANDLER_METADATA_KEY] === handlerFile);
  if (matches.length !== 1) throw new Error(`expected one function with handler file ${handlerFile}, found ${matches.length}`);
  return matches[0]!;
}

/** The function a (local) ARN designates; qualified ARNs (`:$LATEST`, an alias) name the same code. */
export function functionLogicalIdOfArn(template: CfnTemplate, arn: string): string {
  const unqualified = arn.split(':').slice(0, 7).join(':');
  const logicalId = logicalIdsOfType(template, 'AWS::Lambda::Function').find((id) => localArn(template, id) === unqualified);
  if (!logicalId) throw new Error(`${arn} is not the ARN of a Lambda function of the template`);
  return logicalId;
}

export function handlerFileOfArn(template: CfnTemplate, arn: string): string {
  return handlerFileOfFunction(template, functionLogicalIdOfArn(template, arn));
}

/**
 * The handler behind the REST API: the local HTTP adapter serves every route with one function, so
 * the template's proxy integrations must all name the same one.
 */
export function apiHandlerFile(template: CfnTemplate): string {
  const files = new Set<string>();
  for (const methodId of logicalIdsOfType(template, 'AWS::ApiGateway::Method')) {
    const integration = template.Resources[methodId]!.Properties?.Integration as { Type?: string; Uri?: unknown } | undefined;
    if (integration?.Type !== 'AWS_PROXY') continue;
    // arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations
    const functionArn = /\/functions\/(.+)\/invocations$/.exec(String(resolveIntrinsics(template, integration.Uri)))?.[1];
    if (!functionArn) throw new Error(`API method ${methodId} does not proxy to a Lambda function`);
    files.add(handlerFileOfArn(template, functionArn));
  }
  if (files.size !== 1) throw new Error(`the local HTTP API serves one function; the template's API uses ${files.size}`);
  return [...files][0]!;
}

/**
 * Imports `runtime/handlers/<file>.ts` once per process, as a Lambda container keeps its module after the cold
 * start (handlers read their environment at import). The path is built at run time, so vitest cannot
 * analyse it: hence the file URL and @vite-ignore.
 */
export function createHandlerLoader(): HandlerLoader {
  const modules = new Map<string, Promise<{ handler?: unknown }>>();
  return async (handlerFile) => {
    if (!HANDLER_FILE.test(handlerFile)) throw new Error(`not a handler file name: ${handlerFile}`);
    let loading = modules.get(handlerFile);
    if (!loading) {
      const modulePath = new URL(`../../runtime/handlers/${handlerFile}.ts`, import.meta.url).href;
      loading = import(/* @vite-ignore */ modulePath) as Promise<{ handler?: unknown }>;
      modules.set(handlerFile, loading);
    }
    const module = await loading;
    if (typeof module.handler !== 'function') throw new Error(`runtime/handlers/${handlerFile}.ts exports no handler function`);
    return module.handler as Handler;
  };
}
