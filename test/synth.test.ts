/**
 * `npx cdk synth` exactly as a user runs it: the real app (bin/app.ts), cdk.json's context, local
 * esbuild bundling, and cdk-nag's AwsSolutions checks as a validation plugin. Offline.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { removeDir, tempDir } from './helpers';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

describe('npx cdk synth', () => {
  it('synthesizes the template and bundles the function, with no unacknowledged cdk-nag finding', async () => {
    const out = await tempDir();
    try {
      // Credentials in the environment of whoever synthesizes, as on a developer's machine.
      const secrets = { BETATEL_API_KEY: 'synth-test-key-7f3a9c2e', BETATEL_USER_ID: 'synth-test-user-51d0b8' };
      const { stderr } = await run(path.join(ROOT, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--no-notices', '--output', out], {
        cwd: ROOT,
        env: { ...process.env, ...secrets, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      });
      expect(stderr).not.toMatch(/ERROR|Synthesis finished with errors/);
      const template = JSON.parse(readFileSync(path.join(out, 'EsimExport.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }> };
      const fn = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Lambda::Function')!;
      const asset = path.join(out, `asset.${fn.Properties.Code!.S3Key!.replace(/\.zip$/, '')}`);
      expect(existsSync(path.join(asset, 'index.js'))).toBe(true);
      expect(existsSync(path.join(asset, 'index.js.map'))).toBe(true);
      // Nothing secret reaches the template or the bundle: the stack only ever holds the placeholder.
      const written = [JSON.stringify(template), readFileSync(path.join(asset, 'index.js'), 'utf8')].join('\n');
      expect(written).toContain('REPLACE_WITH_BETATEL_API_KEY');
      for (const value of Object.values(secrets)) expect(written).not.toContain(value);
    } finally {
      await removeDir(out);
    }
  }, 180_000);

  it('fails naming the context key when a value is wrong', async () => {
    const failing = run(path.join(ROOT, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--no-notices', '-c', 'concurrency=lots'], {
      cwd: ROOT,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    });
    await expect(failing).rejects.toMatchObject({ stderr: expect.stringContaining('CDK context "concurrency" must be a whole number from 1 to 64, got "lots"') });
  }, 180_000);
});
