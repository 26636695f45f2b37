/**
 * The schedule: EventBridge Scheduler, in the configured time zone, passing the scheduled time
 * so that a retried run still writes the day it was meant for.
 */
import { Aws, Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ExportScheduleProps {
  readonly function: lambda.IFunction;
  /** Where events that cannot be delivered go. */
  readonly deadLetterQueue: sqs.IQueue;
  /** @default 'cron(0 2 * * ? *)' */
  readonly expression?: string;
  /** @default 'UTC' */
  readonly timezone?: string;
}

export class ExportSchedule extends Construct {
  public readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: ExportScheduleProps) {
    super(scope, id);

    // The role Scheduler assumes, for this account only.
    const role = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      description: 'EventBridge Scheduler: invoke the esim-export function, and send what it cannot deliver to FailedRuns.',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'The invoke grant covers the function and its versions (ARN:*), as CDK writes it; it names this one function only.',
    });

    // The schedule itself, with retries and a dead-letter queue.
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Runs the esim-export function.',
      schedule: scheduler.ScheduleExpression.expression(props.expression ?? 'cron(0 2 * * ? *)', TimeZone.of(props.timezone ?? 'UTC')),
      target: new schedulerTargets.LambdaInvoke(props.function, {
        role,
        input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 3,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: props.deadLetterQueue,
      }),
    });
  }
}
