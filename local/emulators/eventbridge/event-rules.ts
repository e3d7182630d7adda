import type { CfnTemplate } from '../../stack/cloud-assembly.js';
import { functionLogicalIdOfArn, handlerFileOfFunction } from '../../stack/handler-modules.js';
import { eventBusNameOf, localArn, logicalIdsOfType, resolveIntrinsics } from '../../stack/template-resolver.js';

/**
 * The EventBridge rules of the template as the local stack runs them: which bus, which pattern or
 * schedule, and for each target the handler file and how many times Lambda would retry it. Read once at
 * start-up, so a rule we cannot run (a target that is not a function, an input transformer) stops
 * the stack there instead of dropping events later.
 */

export interface LocalRuleTarget {
  id: string;
  /** Empty for a state machine target. */
  functionLogicalId: string;
  /** The handler file of a function target; for a state machine target, `states:<its ARN>` (logs, failures). */
  handlerFile: string;
  /** Set for a state machine target: EventBridge starts an execution with the event as its input. */
  stateMachineArn?: string;
  /** Retries after a failed attempt: Lambda's asynchronous invocation makes 2 unless an EventInvokeConfig says otherwise. */
  retries: number;
  /** What the function receives for an event: the event itself, a constant (Input) or a part of it (InputPath). */
  inputFor(event: unknown): unknown;
}

export interface LocalRule {
  ruleId: string;
  ruleArn: string;
  busName: string;
  eventPattern?: unknown;
  scheduleExpression?: string;
  targets: LocalRuleTarget[];
}

const LAMBDA_ASYNC_RETRIES = 2;

interface CfnTarget {
  Id?: unknown;
  Arn?: unknown;
  Input?: unknown;
  InputPath?: unknown;
  InputTransformer?: unknown;
}

export function rulesOf(template: CfnTemplate): LocalRule[] {
  const retriesByFunction = asyncRetriesByFunction(template);
  const stateMachineArns = new Set(logicalIdsOfType(template, 'AWS::StepFunctions::StateMachine').map((id) => localArn(template, id)));
  return logicalIdsOfType(template, 'AWS::Events::Rule').flatMap((ruleId): LocalRule[] => {
    const properties = template.Resources[ruleId]!.Properties ?? {};
    if (properties.State === 'DISABLED') return [];
    // Only what we use is resolved: a target's RoleArn or DeadLetterConfig has nothing to run locally.
    const targets = ((properties.Targets ?? []) as CfnTarget[]).map((target) => {
      const id = String(target.Id);
      if (target.InputTransformer !== undefined) throw new Error(`rule ${ruleId} target ${id}: InputTransformer is not supported locally`);
      const arn = String(resolveIntrinsics(template, target.Arn));
      if (stateMachineArns.has(arn)) {
        // Step Functions takes the event (StartExecution): EventBridge retries a refusal, as it does Lambda's.
        return {
          id,
          functionLogicalId: '',
          handlerFile: `states:${arn}`,
          stateMachineArn: arn,
          retries: LAMBDA_ASYNC_RETRIES,
          inputFor: inputSelector(template, ruleId, id, target),
        };
      }
      let functionLogicalId: string;
      try {
        functionLogicalId = functionLogicalIdOfArn(template, arn);
      } catch {
        throw new Error(`rule ${ruleId} target ${id} (${arn}): the local stack only delivers to Lambda functions and state machines of the template`);
      }
      return {
        id,
        functionLogicalId,
        handlerFile: handlerFileOfFunction(template, functionLogicalId),
        retries: retriesByFunction.get(functionLogicalId) ?? LAMBDA_ASYNC_RETRIES,
        inputFor: inputSelector(template, ruleId, id, target),
      };
    });
    return [
      {
        ruleId,
        ruleArn: localArn(template, ruleId),
        busName: eventBusNameOf(resolveIntrinsics(template, properties.EventBusName)),
        ...(properties.EventPattern !== undefined ? { eventPattern: resolveIntrinsics(template, properties.EventPattern) } : {}),
        ...(typeof properties.ScheduleExpression === 'string' ? { scheduleExpression: properties.ScheduleExpression } : {}),
        targets,
      },
    ];
  });
}

function asyncRetriesByFunction(template: CfnTemplate): Map<string, number> {
  const retries = new Map<string, number>();
  for (const configId of logicalIdsOfType(template, 'AWS::Lambda::EventInvokeConfig')) {
    const properties = template.Resources[configId]!.Properties ?? {};
    const functionName = String(resolveIntrinsics(template, properties.FunctionName));
    if (typeof properties.MaximumRetryAttempts === 'number') retries.set(functionName, properties.MaximumRetryAttempts);
  }
  return retries;
}

function inputSelector(template: CfnTemplate, ruleId: string, targetId: string, target: CfnTarget): (event: unknown) => unknown {
  if (target.Input !== undefined) {
    const constant = JSON.parse(String(resolveIntrinsics(template, target.Input))) as unknown;
    return () => structuredClone(constant);
  }
  if (target.InputPath !== undefined) {
    const path = String(target.InputPath);
    if (!/^\$(\.[A-Za-z0-9_-]+)*$/.test(path)) throw new Error(`rule ${ruleId} target ${targetId}: InputPath ${path} is beyond the local subset ($.a.b)`);
    const fields = path.split('.').slice(1);
    return (event) => fields.reduce<unknown>((node, field) => (node as Record<string, unknown> | undefined)?.[field], event);
  }
  return (event) => event;
}
