/**
 * The state machine that runs every export (SPEC.md, "The Lambda and the state machine"): one
 * Standard workflow whose Lambda tasks all invoke the one export function, each with the step
 * it is to run (lambda/steps.ts):
 *
 *   Check? ─{"check": true}─► Check ─► Passed? ─yes─► Checked   (no ─► Check failed)
 *     └─otherwise─► Begin ─► Export ─► Finished? ─yes─► Publish ─► Announce ─► Published
 *              ▲          │no                         │ retries spent
 *              └──────────┘                           └─► Announce, last try ─► Published
 *   Export or Publish fails ─► Clean up ─► Committed? ─yes─► Announce
 *                                              └─no─► Failed      (Begin fails ─► Failed)
 *
 * Begin takes the scope's lock; while another run of the same scope holds it, Begin is retried
 * for about 75 minutes (12 tries, a minute apart and growing), so a run started by hand during
 * the scheduled one waits its turn. Publish is a journaled transaction that a retry, Clean up
 * or the next run finishes or undoes (lambda/core/run/transaction.ts). Announce puts the
 * "Snapshot Published" event: a failure there never undoes the publication, and an execution
 * whose announcement is still pending succeeds (its own alarm says so; the next run sends it).
 * The payload between states is a few fields (StepResult); the checkpoint stays in S3.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

export interface ExportStateMachineProps {
  readonly function: lambda.IFunction;
  /** The state machine's name, which the function names when a direct invocation does not fit. */
  readonly stateMachineName: string;
  readonly logRetentionDays: number;
  /** Encrypts the execution logs. @default CloudWatch Logs' own encryption */
  readonly encryptionKey?: kms.IKey;
}

export class ExportStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** The state machine's log group: every transition of every execution. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ExportStateMachineProps) {
    super(scope, id);
    const step = (name: string, payload: Record<string, unknown>, options: Partial<tasks.LambdaInvokeProps> = {}): tasks.LambdaInvoke =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: props.function,
        payload: sfn.TaskInput.fromObject(payload),
        // The function's return value is the state's output: no Lambda envelope around it.
        payloadResponseOnly: true,
        ...options,
      });

    const begin = step('Begin', { step: 'begin', 'input.$': '$', 'holder.$': '$$.Execution.Id' }, { comment: 'Validate the input, take the scope lock.' });
    begin.addRetry({ errors: ['ExportBusyError'], interval: Duration.minutes(1), maxAttempts: 12, backoffRate: 1.3 });

    const exportTask = step('Export', { step: 'export', 'run.$': '$.run' }, { comment: 'Export until MAX_RUN_SECONDS, then save a checkpoint.' });
    const publish = step('Publish', { step: 'publish', 'run.$': '$.run' }, { comment: 'A journaled transaction: data files, latest.json, then the manifest.' });
    // CDK retries Lambda's service errors; a throttled invocation is retried too. A retried Export
    // starts again from the last saved checkpoint (run/store.ts), and a retried Publish first
    // finishes or undoes what its earlier attempt left, so a step runs at least once and its
    // effect counts once.
    for (const task of [begin, exportTask, publish]) {
      task.addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(5), maxAttempts: 5, backoffRate: 2 });
    }
    publish.addRetry({ errors: ['DestinationError', 'RecoveryPendingError'], interval: Duration.seconds(10), maxAttempts: 2, backoffRate: 3 });

    // The announcement: retried for about 15 minutes, then once more in a step that reports a
    // failure (metric AnnouncementsFailed, its own alarm) instead of failing the execution.
    const announce = (name: string, lastTry: boolean): tasks.LambdaInvoke =>
      step(name, { step: 'announce', 'run.$': '$.run', lastTry }, { comment: 'Put "Snapshot Published" for every snapshot of the scope still pending.', resultPath: '$.announced' });
    const announceNow = announce('Announce', false);
    announceNow.addRetry({ errors: ['AnnouncementFailedError'], interval: Duration.seconds(30), maxAttempts: 4, backoffRate: 2 });
    const published = new sfn.Succeed(this, 'Published');
    announceNow.addCatch(announce('Announce, last try', true).next(published), { errors: ['AnnouncementFailedError'], resultPath: '$.error' });
    announceNow.next(published);

    const cleanup = step('Clean up', { step: 'cleanup', 'run.$': '$.run' }, { comment: 'Finish or undo its publication, remove what the run staged, and its lock.', resultPath: '$.cleanup' });
    cleanup.addRetry({ errors: ['States.ALL'], maxAttempts: 3, interval: Duration.seconds(5) });
    const failed = new sfn.Fail(this, 'Failed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    // A publication whose manifest was written before the failure is published: announce it.
    cleanup.next(new sfn.Choice(this, 'Committed?').when(sfn.Condition.booleanEquals('$.cleanup.published', true), announceNow).otherwise(failed));
    exportTask.addCatch(cleanup, { resultPath: '$.error' });
    publish.addCatch(cleanup, { resultPath: '$.error' });
    begin.addCatch(failed, { resultPath: '$.error' });

    const finished = new sfn.Choice(this, 'Finished?').when(sfn.Condition.booleanEquals('$.done', true), publish.next(announceNow)).otherwise(exportTask);
    begin.next(exportTask).next(finished);

    // {"check": true} (with any export settings): the function's check (core/run/check.ts), no export.
    const check = new tasks.LambdaInvoke(this, 'Check', {
      lambdaFunction: props.function,
      payloadResponseOnly: true,
      comment: 'The credentials, the API, the bucket, the lock, the newest snapshot and the bus, a line each.',
    });
    const passed = new sfn.Choice(this, 'Passed?')
      .when(sfn.Condition.booleanEquals('$.ok', true), new sfn.Succeed(this, 'Checked'))
      .otherwise(new sfn.Fail(this, 'Check failed', { error: 'CheckFailed', cause: "A line of the check failed: the execution's output before this state lists every line and what to do." }));
    const definition = new sfn.Choice(this, 'Check?')
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.check'), sfn.Condition.booleanEquals('$.check', true)), check.next(passed))
      .otherwise(begin);

    const logGroup = (this.logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    }));
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: `Exports every Betatel eSIM into a dated snapshot in S3 (${Stack.of(this).stackName}).`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      // A day is far more than any export at a realistic rate limit (docs/operate.md, "Long exports").
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    const functionArn = Stack.of(this).getLogicalId(props.function.node.defaultChild as lambda.CfnFunction);
    Validations.of(this.stateMachine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionArn}.Arn>:*]`,
      reason: 'The invoke grant covers the export function and its versions (ARN:*), as CDK writes it; it names this one function only.',
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray trace segments and CloudWatch Logs delivery are granted on * because those actions support no narrower resource.',
    });
  }
}
