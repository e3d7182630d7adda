import type { CfnTemplate } from './cloud-assembly.js';
import { LOCAL_REGION, localPhysicalName, resolveIntrinsics } from './template-resolver.js';

/** A function's Environment.Variables from the template, intrinsics resolved to local names. */
export function functionVariables(template: CfnTemplate, logicalId: string): Record<string, string> {
  const properties = template.Resources[logicalId]!.Properties as { Environment?: { Variables?: Record<string, unknown> } };
  const variables = resolveIntrinsics(template, properties.Environment?.Variables ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)]));
}

/**
 * What the Lambda Node.js runtime sets in every function's environment (its "defined runtime
 * environment variables"), from the function's settings in the template. NODE_PATH is left out on
 * purpose: the bundle must find everything it needs in itself or in the runtime's SDK.
 */
export function lambdaRuntimeVariables(template: CfnTemplate, logicalId: string): Record<string, string> {
  const properties = template.Resources[logicalId]!.Properties ?? {};
  const name = localPhysicalName(template, logicalId);
  return {
    _HANDLER: String(properties.Handler ?? 'index.handler'),
    AWS_EXECUTION_ENV: `AWS_Lambda_${String(properties.Runtime)}`,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(properties.MemorySize ?? 128),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'local',
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    PATH: '/usr/local/bin:/usr/bin:/bin',
  };
}

/**
 * The whole environment of a function run from its bundle, in a process of its own: what Lambda
 * sets, the function's own variables (NODE_OPTIONS included) with the local stack's values for them
 * (`stackEnvironment`: scaled times, no history table off time scale 1), and the stack's local-only
 * settings (endpoints, flags: the names no function of the template has). Never another function's
 * variables. It signs its AWS calls with its own access key, its logical id (as in-process:
 * local/stack/function-credentials.ts).
 */
export function bundledFunctionEnvironment(
  template: CfnTemplate,
  logicalId: string,
  stackEnvironment: Record<string, string>,
  templateVariableNames: ReadonlySet<string>,
): Record<string, string> {
  const own = Object.entries(functionVariables(template, logicalId)).flatMap(([name, value]): [string, string][] =>
    name === 'NODE_OPTIONS' ? [[name, value]] : name in stackEnvironment ? [[name, stackEnvironment[name]!]] : [],
  );
  const localOnly = Object.entries(stackEnvironment).filter(([name]) => !templateVariableNames.has(name));
  return { ...lambdaRuntimeVariables(template, logicalId), ...Object.fromEntries(own), ...Object.fromEntries(localOnly), AWS_ACCESS_KEY_ID: logicalId };
}
