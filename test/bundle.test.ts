/**
 * The function exactly as it deploys: the esbuild bundle the stack synthesizes, run in its own
 * Node.js process against the sandbox API, a real S3 server (s3rver) and a minimal local
 * Secrets Manager endpoint (the bundle carries its own SDK copy, so no in-process mock can reach it).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import S3rver from 's3rver';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { EsimExportStack } from '../lib/esim-export-stack';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { fingerprint, removeDir, SANDBOX_CREDENTIALS, tempDir } from './helpers';

const SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:esim/betatel-AbCdEf';
let bundle: string;
let s3rver: S3rver;
let storage: string;
let api: Sandbox;
let secrets: Server;
let secretValue = JSON.stringify(SANDBOX_CREDENTIALS);
const env: NodeJS.ProcessEnv = {};

/** Events the bundle put on EventBridge (PutEvents entries). */
const eventsPut: Array<{ Source: string; DetailType: string; Detail: string }> = [];

/**
 * Answers GetSecretValue the way Secrets Manager does, and PutEvents the way EventBridge does
 * (both AWS JSON 1.1), recording the events.
 */
function startSecretsManager(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.headers['x-amz-target'] === 'AWSEvents.PutEvents') {
        const { Entries } = JSON.parse(body) as { Entries: typeof eventsPut };
        eventsPut.push(...Entries);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ FailedEntryCount: 0, Entries: Entries.map((_, i) => ({ EventId: `event-${i}` })) }));
        return;
      }
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const found = req.headers['x-amz-target'] === 'secretsmanager.GetSecretValue' && SecretId === SECRET_ID;
      res.writeHead(found ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify(
          found
            ? { ARN: SECRET_ID, Name: 'esim/betatel', SecretString: secretValue, VersionId: 'v1', CreatedDate: 1764200000 }
            : { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." },
        ),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Loads the bundle in a fresh Node.js process and calls its handler once. */
function invoke(event: unknown): Promise<{ manifest?: Manifest; error?: { code: string; message: string }; logs: string }> {
  const script = `
    const { handler } = require(${JSON.stringify(bundle)});
    const context = { getRemainingTimeInMillis: () => 900000, functionName: 'esim-export', awsRequestId: 'local' };
    handler(JSON.parse(process.argv[1]), context).then(
      (manifest) => console.log('RESULT ' + JSON.stringify({ manifest })),
      (error) => console.log('RESULT ' + JSON.stringify({ error: { code: error.code, message: error.message } })),
    );`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, JSON.stringify(event)], { env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) return reject(new Error(`no result: ${error?.message}\n${stdout}\n${stderr}`));
      resolve({ ...(JSON.parse(line.slice('RESULT '.length)) as object), logs: stdout + stderr });
    });
  });
}

beforeAll(async () => {
  const app = new App();
  const stack = new EsimExportStack(app, 'EsimExport');
  const template = Template.fromStack(stack);
  const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as { Properties: { Code: { S3Key: string } } };
  bundle = path.join(app.outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.js');

  storage = await tempDir();
  s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: storage, configureBuckets: [{ name: 'snapshots', configs: [] }] });
  const { port } = await s3rver.run();
  api = await startSandbox({ size: 1_200, shape: 'mixed' });
  secrets = await startSecretsManager();
  Object.assign(env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_EVENTBRIDGE: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SECRET_ID,
    BUCKET_NAME: 'snapshots',
    EXPORT_PREFIX: 'esims',
    API_BASE_URL: api.apiBaseUrl,
    TIMEZONE: 'Europe/Berlin',
  });
}, 120_000);

afterAll(async () => {
  await api.close();
  await new Promise((resolve) => secrets.close(resolve));
  await s3rver.close();
  await removeDir(storage);
});

describe('the bundled function', () => {
  it('runs a scheduled export end to end and returns the manifest', async () => {
    const { manifest, error, logs } = await invoke({ scheduledTime: '2026-11-26T23:30:00Z' });
    expect(error).toBeUndefined();
    // 23:30 UTC is already the 27th in Berlin, the configured time zone.
    expect(manifest).toMatchObject({ snapshot_date: '2026-11-27', records: 1_200, api_total: 1_200, warnings: [] });
    const stored = Object.keys(await fingerprint(storage)).filter((key) => key.endsWith('._S3rver_object'));
    expect(stored.map((key) => key.replace('snapshots/', '').replace('._S3rver_object', '')).sort()).toEqual([
      // A first snapshot: no change set (nothing to compare with).
      'esims/csv/dt=2026-11-27/esims.csv.gz',
      'esims/latest.json',
      'esims/manifests/dt=2026-11-27/manifest.json',
      'esims/ndjson/dt=2026-11-27/esims.ndjson.gz',
      'esims/parquet/dt=2026-11-27/esims.parquet',
    ]);
    expect(logs).toContain('"message":"snapshot published"');
    expect(eventsPut.map((event) => [event.Source, event.DetailType, JSON.parse(event.Detail).manifest_key])).toEqual([
      ['esim-export', 'Snapshot Published', 'esims/manifests/dt=2026-11-27/manifest.json'],
    ]);
    expect(logs).not.toContain(SANDBOX_CREDENTIALS.apiKey);
  });

  it('refuses to run while the secret holds the placeholder', async () => {
    secretValue = JSON.stringify({ apiKey: 'REPLACE_WITH_BETATEL_API_KEY', userId: 'REPLACE_WITH_BETATEL_USER_ID' });
    try {
      const { error } = await invoke({});
      expect(error).toMatchObject({ code: 'CREDENTIALS', message: expect.stringContaining('still holds the placeholder') });
    } finally {
      secretValue = JSON.stringify(SANDBOX_CREDENTIALS);
    }
  });
});
