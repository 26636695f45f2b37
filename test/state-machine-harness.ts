/**
 * The state machine as synthesized, executed locally by aws-local-stepfunctions. Its Lambda
 * tasks run the real handler in-process against the sandbox API and a real S3 server
 * (s3rver, with S3's conditional writes and injected faults), with MAX_RUN_SECONDS of 1 so
 * that an export takes several invocations. Secrets Manager and EventBridge, which have no
 * local server, are mocked clients.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clearCaches } from '@aws-lambda-powertools/parameters';
import type { Context } from 'aws-lambda';
import { testApp } from './stack-helpers';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { StateMachine } from 'aws-local-stepfunctions';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { EsimExportStack } from '../lib/esim-export-stack';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { removeDir, SANDBOX_CREDENTIALS, tempDir } from './helpers';
import { objectFile, type S3Server, startS3, storedObjects } from './s3-server';

export const BUCKET = 'esim-exports';
const SECRET_ID = 'esim-export/betatel';
export const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:esim-export';
const TASKS = ['Check', 'Begin', 'Export', 'Publish', 'Announce', 'Announce, last try', 'Clean up'] as const;
export const secrets = mockClient(SecretsManagerClient);
export const events = mockClient(EventBridgeClient);

export interface Call {
  readonly execution: string;
  readonly step: string;
  readonly started: number;
  readonly ended: number;
}

/** Lambda's answer to a call whose function ran, but whose response was lost on the way back. */
class LostResponse extends Error {
  override name = 'Lambda.ServiceException';
}

export interface Harness {
  readonly definition: Record<string, unknown>;
  readonly s3: S3Server;
  readonly api: Sandbox;
  readonly handler: typeof import('../lambda/handler').handler;
  /**
   * Runs one execution; every task invokes the real handler, as Lambda would. `before` runs
   * before the handler; `lose` says to throw away the handler's answer (after it ran).
   */
  execute(
    input: unknown,
    name: string,
    calls: Call[],
    before?: (step: string, count: number, payload: unknown) => void | Promise<void>,
    lose?: (step: string, count: number) => boolean,
  ): Promise<unknown>;
  /** Every object in the bucket (key → SHA-256). */
  objects(): Promise<Record<string, string>>;
  stored(key: string): Promise<Buffer>;
  manifest(day: string): Promise<Manifest>;
  /** The details of every "Snapshot Published" event put so far. */
  announced(): { manifest_key: string; run_id: string }[];
}

/**
 * Registers the suite's set-up and tear-down; the harness is ready inside tests. `env`: more of
 * the function's environment; `owner`: the account that owns the bucket (startS3).
 */
export function stateMachineHarness(options: { env?: Record<string, string>; owner?: string } = {}): Harness {
  const savedEnv = { ...process.env };
  let storage = '';
  const harness = {} as { -readonly [K in keyof Harness]: Harness[K] };

  beforeAll(async () => {
    harness.definition = synthesizedDefinition();
    storage = await tempDir();
    harness.s3 = await startS3(storage, [BUCKET], { owner: options.owner });
    // Slow enough that one second of exporting is a fraction of the inventory.
    harness.api = await startSandbox({ size: 2_400, latencyMs: 100 });
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: harness.s3.endpoint,
      SECRET_ID,
      BUCKET_NAME: BUCKET,
      EXPORT_PREFIX: 'esims',
      API_BASE_URL: harness.api.apiBaseUrl,
      PAGE_SIZE: '100',
      CONCURRENCY: '1',
      MAX_RUN_SECONDS: '1',
      STATE_MACHINE_NAME: 'EsimExport-export',
      // The handler's logs and metrics are its business here, not the test output's.
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...options.env,
    });
    harness.handler = (await import('../lambda/handler')).handler;
  });

  afterAll(async () => {
    process.env = savedEnv;
    await harness.api.close();
    await harness.s3.close();
    await removeDir(storage);
  });

  beforeEach(() => {
    clearCaches();
    secrets.reset();
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({ SecretString: JSON.stringify(SANDBOX_CREDENTIALS) });
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
  });
  afterEach(() => harness.s3.inject());

  harness.execute = (input, name, calls, before, lose) => {
    const lambdaContext = { getRemainingTimeInMillis: () => 900_000, functionName: 'esim-export', awsRequestId: name, invokedFunctionArn: FUNCTION_ARN } as unknown as Context;
    const invoke = () => async (payload: unknown): Promise<never> => {
      const step = (payload as { step: string }).step;
      const count = calls.filter((call) => call.execution === name && call.step === step).length;
      await before?.(step, count, payload);
      const started = Date.now();
      try {
        // What Lambda does too: the function's return value travels as JSON.
        const answer = JSON.parse(JSON.stringify(await harness.handler(payload, lambdaContext))) as never;
        if (lose?.(step, count)) throw new LostResponse('the function ran; its response was lost');
        return answer;
      } finally {
        calls.push({ execution: name, step, started, ended: Date.now() });
      }
    };
    const machine = new StateMachine(harness.definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(TASKS.map((task) => [task, invoke()])),
        // Retries wait minutes in AWS (Begin a minute at a time, 12 tries); here moments.
        retryIntervalOverrides: { Begin: 1000, Publish: 10, Announce: 10, 'Clean up': 10 },
      },
      context: { Execution: { Id: `arn:aws:states:eu-west-1:123456789012:execution:EsimExport-export:${name}`, Input: input as never, Name: name, StartTime: new Date().toISOString() } },
    });
    return execution.result;
  };

  harness.objects = () => storedObjects(path.join(storage, BUCKET));
  harness.stored = (key) => readFile(objectFile(path.join(storage, BUCKET), key));
  harness.manifest = async (day) => JSON.parse((await harness.stored(`esims/manifests/dt=${day}/manifest.json`)).toString('utf8')) as Manifest;
  harness.announced = () => events.commandCalls(PutEventsCommand).map((call) => JSON.parse(call.args[0].input.Entries![0]!.Detail!) as { manifest_key: string; run_id: string });
  return harness;
}

/** The synthesized definition, with the function's ARN in place of its CloudFormation reference. */
function synthesizedDefinition(): Record<string, unknown> {
  const app = testApp();
  const stack = new EsimExportStack(app, 'EsimExport', { env: { account: '123456789012', region: 'eu-west-1' } });
  const machines = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
  const { DefinitionString } = (Object.values(machines)[0] as { Properties: { DefinitionString: { 'Fn::Join': [string, unknown[]] } } }).Properties;
  const text = DefinitionString['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : FUNCTION_ARN)).join('');
  return JSON.parse(text) as Record<string, unknown>;
}
