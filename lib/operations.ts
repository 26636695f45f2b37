/**
 * Operations: an SNS topic for alarms, five alarms (a failed execution, a failed invocation, a
 * run that could not be started, an event given up on, no fresh snapshot), and a dashboard of executions and of what
 * each run did.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/telemetry';
import { keepLogicalId } from './secure-defaults';


export interface OperationsProps {
  readonly function: lambda.IFunction;
  readonly stateMachine: sfn.IStateMachine;
  readonly failedRuns: sqs.IQueue;
  /** @default no subscription */
  readonly alarmEmail?: string;
  readonly staleAfterHours: number;
  /** Alarm when the API's schema changed (SchemaChanges). @default false */
  readonly schemaChangeAlarm?: boolean;
}

export class Operations extends Construct {
  public readonly alarmTopic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { staleAfterHours } = props;
    const metric = (metricName: string, statistic = 'Sum', period = Duration.days(1)): cloudwatch.Metric =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, statistic, period });

    // Where alarms go.
    this.alarmTopic = new sns.Topic(this, 'Alarms', { displayName: 'esim-export alarms', enforceSSL: true });
    keepLogicalId(this.alarmTopic.node.findChild('Policy'), 'AlarmsPolicy5C860CFE');
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'Alarm notifications carry no data; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key.',
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    // The alarms, each into the topic, on alarm and on recovery.
    const whenAny = (alarmId: string, alarmDescription: string, anyOf: cloudwatch.IMetric): cloudwatch.Alarm =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription,
        metric: anyOf,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const executions = (metric: (options: cloudwatch.MetricOptions) => cloudwatch.Metric, period = Duration.minutes(5)): cloudwatch.Metric =>
      metric.call(props.stateMachine, { period, statistic: 'Sum' });
    const alarms = [
      whenAny(
        'ExecutionFailedAlarm',
        'An esim-export execution failed, timed out or was stopped before its snapshot was published: the day keeps the snapshot it had, unchanged, and Clean up removed the staging (its last state and the step\'s log line say why). A snapshot published but not announced raises AnnouncementFailedAlarm instead.',
        new cloudwatch.MathExpression({
          expression: 'failed + timedOut + aborted',
          usingMetrics: {
            failed: executions(props.stateMachine.metricFailed),
            timedOut: executions(props.stateMachine.metricTimedOut),
            aborted: executions(props.stateMachine.metricAborted),
          },
          period: Duration.minutes(5),
        }),
      ),
      whenAny(
        'RunFailedAlarm',
        'An esim-export invocation failed; its log says why in one line ("export failed" or "step failed"). A state machine step is retried and Clean up undoes a half-done publication (ExecutionFailedAlarm says if the run failed); a direct invocation published nothing.',
        props.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      ),
      whenAny(
        'FailedRunsQueueAlarm',
        'A scheduled run could not be delivered or failed all its retries: see the FailedRuns queue.',
        props.failedRuns.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      ),
      whenAny(
        'AnnouncementFailedAlarm',
        'A snapshot was published, but its "Snapshot Published" event could not be put on the bus after every retry. The snapshot is complete; the event waits under _runs/outbox/ and the next run sends it.',
        metric('AnnouncementsFailed', 'Sum', Duration.minutes(5)),
      ),
      ...(props.schemaChangeAlarm
        ? [
            whenAny(
              'SchemaChangedAlarm',
              'A snapshot found the API sending another shape than the previous one: a field added, gone, or come as another type. The manifest\'s warnings and its "Schema Changed" event name each difference; a field the columns do not know lands in "extra" (docs/operate.md, "When the API\'s schema changes").',
              metric('SchemaChanges', 'Sum', Duration.minutes(5)),
            ),
          ]
        : []),
      new cloudwatch.Alarm(this, 'StaleSnapshotAlarm', {
        alarmDescription: `No full snapshot was published for ${staleAfterHours} hours.`,
        metric: metric('SnapshotsPublished', 'Sum', Duration.hours(1)),
        threshold: 1,
        evaluationPeriods: staleAfterHours,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // No data point is exactly the problem: missing counts as breaching.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    ];
    for (const alarm of alarms) {
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
      alarm.addOkAction(new cloudwatchActions.SnsAction(this.alarmTopic));
    }

    // The dashboard: what each run exported, how long it took, what went wrong.
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-esim-export`,
      defaultInterval: Duration.days(30),
    });
    keepLogicalId(this.dashboard, 'Dashboard9E4231ED');
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Executions',
        left: [
          executions(props.stateMachine.metricStarted, Duration.days(1)),
          executions(props.stateMachine.metricSucceeded, Duration.days(1)),
          executions(props.stateMachine.metricFailed, Duration.days(1)),
          executions(props.stateMachine.metricTimedOut, Duration.days(1)),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'Execution time (ms)', left: [props.stateMachine.metricTime({ statistic: 'Maximum', period: Duration.days(1) })], width: 12 }),
      new cloudwatch.GraphWidget({ title: 'eSIMs exported per run', left: [metric('RecordsExported', 'Maximum')], width: 12 }),
      new cloudwatch.GraphWidget({
        title: 'eSIMs per status',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service,status} MetricName="RecordsByStatus"', 'Maximum', 86400)`,
            label: '',
            period: Duration.days(1),
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'Invocation duration (s)', left: [metric('DurationSeconds', 'Maximum')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Retries and warnings', left: [metric('Retries'), metric('Warnings')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Errors', left: [props.function.metricErrors({ period: Duration.days(1) }), metric('ExportsFailed')], width: 8 }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }),
    );
  }
}
