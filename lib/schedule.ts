/**
 * The schedule: EventBridge Scheduler, in the configured time zone, starts the export state
 * machine with the scheduled time, so that a retried run still writes the day it was meant for.
 */
import { Aws, Duration, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ExportScheduleProps {
  readonly stateMachine: sfn.IStateMachine;
  /** Where events that cannot be delivered go. */
  readonly deadLetterQueue: sqs.IQueue;
  readonly expression: string;
  readonly timezone: string;
}

export class ExportSchedule extends Construct {
  public readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: ExportScheduleProps) {
    super(scope, id);

    // The role Scheduler assumes, for this account only.
    const role = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      description: 'EventBridge Scheduler: start the esim-export state machine, and send what it cannot deliver to FailedRuns.',
    });

    // The schedule itself, with retries and a dead-letter queue.
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Starts the esim-export state machine.',
      schedule: scheduler.ScheduleExpression.expression(props.expression, TimeZone.of(props.timezone)),
      target: new schedulerTargets.StepFunctionsStartExecution(props.stateMachine, {
        role,
        input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 3,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: props.deadLetterQueue,
      }),
    });
  }
}
