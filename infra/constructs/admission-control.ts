import { Duration } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TASK_ENDED_DETAIL_TYPE, WORKFLOW_EVENT_SOURCE } from '../../contracts/events.js';
import { HANDLER } from '../../contracts/handlers.js';
import { JOBS_TABLE } from '../../contracts/tables.js';
import { HouseFunction } from './house-function.js';
import { acknowledge, policyOf, resourcesOf, wildcardResource } from './nag.js';
import { jobIntakeEnvironment, type JobIntakeResources } from './job-intake-access.js';

/**
 * What makes the admission line event-driven: the workflow puts an event on the default bus when its
 * provider task ends, Step Functions publishes every end of an execution there, and two rules hand
 * both (of this state machine only) to the admission function, which gives the slot back and starts
 * the next waiting jobs. A waiting job costs nothing while it waits; the sweeper's schedule is only
 * the backstop.
 */
export class AdmissionControl extends Construct {
  public readonly handler: HouseFunction;
  public readonly executionEndRule: Rule;
  public readonly taskEndRule: Rule;

  constructor(scope: Construct, id: string, props: JobIntakeResources) {
    super(scope, id);
    this.handler = new HouseFunction(this, 'AdmissionFunction', {
      handlerFile: HANDLER.admission,
      timeout: Duration.seconds(60),
      // The handler builds the intake's dependencies (runtime/handlers/admission.ts), so it reads the same settings.
      environment: jobIntakeEnvironment(props),
    });
    // Not grantJobIntake: this function records no job, keeps no request body, checks no media and
    // announces nothing. It reads a job and the line, moves jobs in and out of the line
    // (runtime/admission/execution-ended.ts, dispatch.ts), takes and gives back slots, starts executions,
    // and stops one it just started for a job that was cancelled meanwhile (dispatch.ts, startAdmitted).
    Grant.addToPrincipal({ grantee: this.handler, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resourceArns: [props.table.tableArn] });
    Grant.addToPrincipal({
      grantee: this.handler,
      actions: ['dynamodb:Query'],
      resourceArns: [`${props.table.tableArn}/index/${JOBS_TABLE.indexes.byLine.name}`],
    });
    Grant.addToPrincipal({
      grantee: this.handler,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [props.admission.tableArn],
    });
    props.stateMachine.grantStartExecution(this.handler);
    for (const resource of resourcesOf(props.stateMachine.grantExecution(this.handler, 'states:StopExecution'))) {
      acknowledge(
        policyOf(this.handler),
        wildcardResource(props.stateMachine, resource),
        'StopExecution on executions of this one state machine, named after job ids (<jobId>-admission-N) at run time, ' +
          'so the ARN ends in a wildcard for the name',
      );
    }
    this.executionEndRule = new Rule(this, 'ExecutionEndRule', {
      description: 'video-pipeline: an execution that ended frees its slot and starts the next waiting jobs',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [props.stateMachine.stateMachineArn], status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
      },
      // A lost end is reconciled by the sweeper; retried deliveries are harmless (the release is conditional).
      targets: [new LambdaFunction(this.handler, { retryAttempts: 8, maxEventAge: Duration.hours(1) })],
    });
    this.taskEndRule = new Rule(this, 'TaskEndRule', {
      description: 'video-pipeline: a provider task that ended frees its slot and starts the next waiting jobs',
      eventPattern: {
        source: [WORKFLOW_EVENT_SOURCE],
        detailType: [TASK_ENDED_DETAIL_TYPE],
        detail: { stateMachineArn: [props.stateMachine.stateMachineArn] },
      },
      // A lost one costs only time: the end of the execution frees the slot too.
      targets: [new LambdaFunction(this.handler, { retryAttempts: 8, maxEventAge: Duration.hours(1) })],
    });
  }
}
