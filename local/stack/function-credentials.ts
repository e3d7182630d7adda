import { AsyncLocalStorage } from 'node:async_hooks';
import type { CfnTemplate } from './cloud-assembly.js';
import { functionOfHandlerFile, type HandlerLoader } from './handler-modules.js';

/**
 * On Lambda each function signs its AWS calls with its own role's credentials, which the runtime puts
 * in its environment. In-process the functions share one process.env, so AWS_ACCESS_KEY_ID answers
 * per invocation: inside a call of `asFunction(key, …)` it is that function's key. The SDK reads it
 * (credential-provider-env) when a client signs its first request, which a handler's clients do
 * inside an invocation of their own function (each handler module builds its own: runtime/compose/),
 * so each client keeps its function's key, and the local endpoints can tell who called
 * (local/stack/access/). The access key id is the function's logical id. Nothing else of the
 * environment changes.
 */
const invoking = new AsyncLocalStorage<string>();
const ACCESS_KEY_VARIABLE = 'AWS_ACCESS_KEY_ID';
let installed = false;

function installOnce(): void {
  if (installed) return;
  installed = true;
  const environment = process.env;
  process.env = new Proxy(environment, {
    get(target, name) {
      const key = name === ACCESS_KEY_VARIABLE ? invoking.getStore() : undefined;
      return key ?? Reflect.get(target, name);
    },
  });
}

/** Runs `work` (an invocation and everything it starts) as the function whose access key id is `accessKeyId`. */
export function asFunction<T>(accessKeyId: string, work: () => T): T {
  installOnce();
  return invoking.run(accessKeyId, work);
}

/** The in-process loader, each invocation run as its function (handler files pair with functions in the template). */
export function signingAsItsFunction(loader: HandlerLoader, template: CfnTemplate): HandlerLoader {
  return async (handlerFile) => {
    const accessKeyId = functionOfHandlerFile(template, handlerFile);
    const handler = await loader(handlerFile);
    return (event) => asFunction(accessKeyId, () => handler(event));
  };
}
