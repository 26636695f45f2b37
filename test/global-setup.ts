/**
 * Before any test: builds dist/ (the CLI, the demo, the sandbox) once, so tests that spawn them
 * run this code; and points every temporary file of the run (CDK's cloud assemblies of about
 * 6 MB each, s3rver's folders, the change sets' buckets) at one folder that global-teardown.ts
 * removes. Without it a full run left about 70 cdk.out* folders in /tmp each time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function globalSetup(): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: `${__dirname}/..`, stdio: 'inherit' });
  // Workers and the processes tests spawn inherit it; os.tmpdir() reads TMPDIR on every call.
  const root = mkdtempSync(path.join(tmpdir(), 'esim-export-tests-'));
  process.env.TMPDIR = root;
  process.env.ESIM_EXPORT_TEST_TMPDIR = root;
}
