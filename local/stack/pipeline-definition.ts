import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { CfnTemplate } from './cloud-assembly.js';
import { functionVariables } from './function-environment.js';
import { localPhysicalName, logicalIdsOfType, onlyLogicalIdOfType, resolveIntrinsics } from './template-resolver.js';
import { STATE_MACHINE_METADATA_KEY, WEBHOOK_DELIVERY_MACHINE } from '../../contracts/webhooks.js';

/** What the local stack needs from the synthesized template: the ASL, the names, each function's environment. */
export interface PipelineDefinition {
  asl: StateMachineDefinition;
  stateMachineArn: string;
  /** The generation workflow's logical id: the principal its native tasks' calls are judged as. */
  stateMachineId: string;
  tableName: string;
  bucketName: string;
  /** The union of every function's environment, intrinsics resolved to local names. */
  functionEnvironment: Record<string, string>;
}

/** A state machine of the template: its ASL (intrinsics resolved to local names) and its local ARN. */
export interface LocalStateMachine {
  asl: StateMachineDefinition;
  stateMachineArn: string;
  logicalId: string;
}

const isWebhookDelivery = (template: CfnTemplate, logicalId: string) =>
  template.Resources[logicalId]!.Metadata?.[STATE_MACHINE_METADATA_KEY] === WEBHOOK_DELIVERY_MACHINE;

function onlyStateMachine(template: CfnTemplate, delivery: boolean): string {
  const ids = logicalIdsOfType(template, 'AWS::StepFunctions::StateMachine').filter((id) => isWebhookDelivery(template, id) === delivery);
  if (ids.length !== 1) throw new Error(`expected one ${delivery ? 'webhook delivery' : 'generation'} state machine in the template, found ${ids.length}`);
  return ids[0]!;
}

/** The webhook delivery state machine (infra/constructs/webhook-delivery.ts), marked by its metadata. */
export function webhookDeliveryDefinitionFrom(template: CfnTemplate): LocalStateMachine {
  const logicalId = onlyStateMachine(template, true);
  return {
    asl: JSON.parse(String(resolveIntrinsics(template, template.Resources[logicalId]!.Properties!.DefinitionString))) as StateMachineDefinition,
    stateMachineArn: String(resolveIntrinsics(template, { Ref: logicalId })),
    logicalId,
  };
}

export function pipelineDefinitionFrom(template: CfnTemplate): PipelineDefinition {
  const stateMachineId = onlyStateMachine(template, false);
  const definitionString = resolveIntrinsics(template, template.Resources[stateMachineId]!.Properties!.DefinitionString);
  const functionEnvironment: Record<string, string> = {};
  for (const logicalId of logicalIdsOfType(template, 'AWS::Lambda::Function')) {
    for (const [name, value] of Object.entries(functionVariables(template, logicalId))) {
      if (name in functionEnvironment && functionEnvironment[name] !== value) {
        throw new Error(`functions disagree on ${name}: ${functionEnvironment[name]} vs ${value}`);
      }
      functionEnvironment[name] = value;
    }
  }
  return {
    asl: JSON.parse(String(definitionString)) as StateMachineDefinition,
    stateMachineArn: String(resolveIntrinsics(template, { Ref: stateMachineId })),
    stateMachineId,
    tableName: jobsTableName(template, definitionString),
    bucketName: localPhysicalName(template, onlyLogicalIdOfType(template, 'AWS::S3::Bucket')),
    functionEnvironment,
  };
}

/**
 * The jobs table is the one the state machine writes to; other tables (the batch manifests) are the
 * functions' business. With a single table in the template there is nothing to choose.
 */
function jobsTableName(template: CfnTemplate, definitionString: unknown): string {
  const tables = logicalIdsOfType(template, 'AWS::DynamoDB::Table');
  if (tables.length === 1) return localPhysicalName(template, tables[0]!);
  const written = new Set([...String(definitionString).matchAll(/"TableName":"([^"]+)"/g)].map((match) => match[1]!));
  const candidates = tables.map((id) => localPhysicalName(template, id)).filter((name) => written.has(name));
  if (candidates.length !== 1) throw new Error(`expected the state machine to write one table, found ${candidates.length}`);
  return candidates[0]!;
}
