import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { HANDLER } from '../../contracts/handlers.js';
import { HouseFunction } from './house-function.js';
import { grantJobIntake, jobIntakeEnvironment, type JobIntakeResources } from './job-intake-access.js';

export interface JobSweeperProps extends JobIntakeResources {
  /** EventBridge schedule expression for the sweep. */
  sweepSchedule: string;
}

/**
 * The scheduled check that nothing stays non-terminal: it starts jobs recorded but never started,
 * resumes jobs whose execution was lost while time remains, and ends the rest with a reason.
 */
export class JobSweeper extends Construct {
  public readonly sweeper: HouseFunction;
  public readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: JobSweeperProps) {
    super(scope, id);
    this.sweeper = new HouseFunction(this, 'SweeperFunction', {
      handlerFile: HANDLER.sweeper,
      timeout: Duration.minutes(5),
      reservedConcurrentExecutions: 1,
      retryAttempts: 0,
      environment: { ...jobIntakeEnvironment(props), SWEEP_START_GRACE_SECONDS: '120' },
    });
    grantJobIntake(this.sweeper, props);
    this.schedule = new Rule(this, 'SweepSchedule', {
      description: 'video-pipeline: repair or end jobs whose execution is no longer running',
      schedule: Schedule.expression(props.sweepSchedule),
      targets: [new LambdaFunction(this.sweeper, { retryAttempts: 0 })],
    });
  }
}
