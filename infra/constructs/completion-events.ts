import { EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

/** The bus on which every job that ends is announced; users attach their own rules to it. */
export class CompletionEvents extends Construct {
  public readonly bus: EventBus;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'video-pipeline: one event per job that ends' });
  }
}
