import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { CfnTemplate } from '../cloud-assembly.js';
import { functionOfHandlerFile, type Handler, type HandlerLoader } from '../handler-modules.js';
import type { RuntimeAnswer, RuntimeRequest } from './lambda-runtime.js';

const RUNTIME_FILE = new URL('./lambda-runtime.ts', import.meta.url);

export interface BundledFunctionsOptions {
  template: CfnTemplate;
  /** Each function's asset folder (local/stack/cloud-assembly.ts); its bare imports resolve only from the runtime's modules above it. */
  bundles: ReadonlyMap<string, string>;
  /** The whole environment of a function's process: what Lambda sets, the template's variables, the local endpoints. */
  environmentOf(logicalId: string): Record<string, string>;
}

export interface BundledFunctions {
  loader: HandlerLoader;
  /** Ends every function's process. */
  close(): Promise<void>;
}

interface Container {
  child: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, { resolve(value: unknown): void; reject(error: Error): void }>;
}

function lambdaError(errorType: string, errorMessage: string): Error {
  const error = new Error(errorMessage);
  error.name = errorType;
  return error;
}

/** The Node major the template's runtime names (`nodejs24.x` → 24); the processes run on this Node, so it must be the same. */
function checkNodeVersion(template: CfnTemplate, logicalId: string): void {
  const runtime = String(template.Resources[logicalId]!.Properties?.Runtime ?? '');
  const wanted = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  const running = process.versions.node.split('.')[0];
  if (wanted !== running) {
    throw new Error(
      `function ${logicalId} runs on ${runtime}, but this is Node ${process.versions.node}: run the bundled tier through npm/npx (the "node" devDependency)`,
    );
  }
}

/**
 * Runs every function from its deployable bundle, each in a process of its own, as Lambda runs it in
 * a container of its own: Node with no options but the function's NODE_OPTIONS, the function's own
 * environment only (no NODE_PATH, nothing inherited from this process), the bundle where it lies in
 * the cloud assembly, started at the first invocation (its cold start) and kept warm after. A
 * function's process takes its invocations concurrently, as the in-process handlers do. A process
 * that exits fails what it was running (`Runtime.ExitError`) and the next invocation starts a new one.
 */
export function startBundledFunctions(options: BundledFunctionsOptions): BundledFunctions {
  const containers = new Map<string, Container>();
  let nextId = 1;

  function start(logicalId: string): Container {
    checkNodeVersion(options.template, logicalId);
    const taskRoot = options.bundles.get(logicalId);
    if (!taskRoot) throw new Error(`function ${logicalId} has no bundle`);
    const child = fork(RUNTIME_FILE, [], {
      cwd: taskRoot,
      env: { ...options.environmentOf(logicalId), LAMBDA_TASK_ROOT: taskRoot },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pending: Container['pending'] = new Map();
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (answer: RuntimeAnswer) => {
        if (answer.type === 'ready') resolve();
        else if (answer.type === 'init-error') reject(lambdaError(answer.errorType, `${logicalId} failed to start: ${answer.errorMessage}`));
        else {
          const waiting = pending.get(answer.id);
          pending.delete(answer.id);
          if (answer.type === 'result') waiting?.resolve(JSON.parse(answer.json));
          else waiting?.reject(lambdaError(answer.errorType, answer.errorMessage));
        }
      });
      child.once('exit', (code, signal) => {
        containers.delete(logicalId);
        const exited = lambdaError('Runtime.ExitError', `${logicalId}: the process exited (${signal ?? code}) before answering`);
        reject(exited);
        for (const waiting of pending.values()) waiting.reject(exited);
        pending.clear();
      });
    });
    // A cold start that fails is seen by the invocation that awaited it.
    ready.catch(() => undefined);
    const container = { child, ready, pending };
    containers.set(logicalId, container);
    return container;
  }

  async function invoke(logicalId: string, event: unknown): Promise<unknown> {
    const container = containers.get(logicalId) ?? start(logicalId);
    await container.ready;
    const timeoutSeconds = Number(options.template.Resources[logicalId]!.Properties?.Timeout ?? 3);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      container.pending.set(id, { resolve, reject });
      const request: RuntimeRequest = { type: 'invoke', id, event, requestId: randomUUID(), deadlineMs: Date.now() + timeoutSeconds * 1000 };
      container.child.send(request);
    });
  }

  return {
    loader: async (handlerFile) => {
      const logicalId = functionOfHandlerFile(options.template, handlerFile);
      const handler: Handler = (event) => invoke(logicalId, event);
      return handler;
    },
    async close() {
      const running = [...containers.values()].filter(({ child }) => child.exitCode === null && child.signalCode === null);
      await Promise.all(
        running.map(({ child }) => {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill();
          return exited;
        }),
      );
    },
  };
}
