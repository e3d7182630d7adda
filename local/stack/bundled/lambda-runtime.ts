/**
 * The Lambda runtime inside one function's child process (local/stack/bundled/bundled-functions.ts
 * forks it). It does what the Node.js runtime does around a handler: imports the module `_HANDLER`
 * names from LAMBDA_TASK_ROOT (`index.handler` → index.js, index.mjs or index.cjs, export `handler`)
 * once, at the cold start, then calls the handler with each event and a context, and answers with the
 * result as JSON or the error as its type and message, which is all Step Functions and the callers
 * ever see of it. Node runs this file itself (type stripping), with nothing but node: imports, so the
 * bundle resolves its own imports from where it lies, as on Lambda.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type RuntimeRequest = { type: 'invoke'; id: number; event: unknown; requestId: string; deadlineMs: number };
export type RuntimeAnswer =
  | { type: 'ready' }
  | { type: 'init-error'; errorType: string; errorMessage: string }
  | { type: 'result'; id: number; json: string }
  | { type: 'error'; id: number; errorType: string; errorMessage: string };

type LambdaHandler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

const send = (answer: RuntimeAnswer) => process.send?.(answer);

function describe(error: unknown): { errorType: string; errorMessage: string } {
  return error instanceof Error ? { errorType: error.name, errorMessage: error.message } : { errorType: 'Error', errorMessage: String(error) };
}

async function loadHandler(): Promise<LambdaHandler> {
  const taskRoot = process.env.LAMBDA_TASK_ROOT ?? '';
  const [moduleName = '', exportName = ''] = (process.env._HANDLER ?? '').split('.');
  const file = ['.js', '.mjs', '.cjs'].map((extension) => join(taskRoot, `${moduleName}${extension}`)).find((candidate) => existsSync(candidate));
  if (!file) throw Object.assign(new Error(`Cannot find module '${moduleName}'`), { name: 'Runtime.ImportModuleError' });
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[exportName];
  if (typeof handler !== 'function')
    throw Object.assign(new Error(`${moduleName}.${exportName} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  return handler as LambdaHandler;
}

function contextOf(request: RuntimeRequest): Record<string, unknown> {
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? '';
  return {
    functionName,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: request.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, request.deadlineMs - Date.now()),
  };
}

try {
  const handler = await loadHandler();
  process.on('message', (request: RuntimeRequest) => {
    void (async () => {
      try {
        const result = await handler(request.event, contextOf(request));
        send({ type: 'result', id: request.id, json: JSON.stringify(result ?? null) });
      } catch (error) {
        send({ type: 'error', id: request.id, ...describe(error) });
      }
    })();
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'init-error', ...describe(error) });
  process.exitCode = 1;
  process.disconnect?.();
}
