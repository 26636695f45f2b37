/**
 * README's "Deploy into the account you have", as a user would use it: the CDK app of their
 * own is README's code, importing the package by its name (`esim-export`, this package's
 * `exports`: the construct compiled to JavaScript, as `npm run build:construct` makes it),
 * type-checked against its declarations, compiled, and synthesized offline by plain Node with
 * local esbuild. Its bucket policy for the lake's
 * account grants what the function's role is granted, and README's tables name every setting.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { docBlock, removeDir, tempDir } from './helpers';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

let template: Template;
let warnings: string;

beforeAll(async () => {
  // Inside the package, so that `import … from 'esim-export'` resolves as it does in an app
  // that installed it; the folder is git-ignored and removed after.
  const appDir = path.join(ROOT, '.example-app');
  const out = await tempDir();
  await mkdir(appDir, { recursive: true });
  try {
    // The package as it ships: the construct compiled to JavaScript with its types (dist/cdk).
    await run(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: ROOT });
    await run('npm', ['run', '-s', 'build:function'], { cwd: ROOT });
    const app = await docBlock('docs/your-account.md', '## In your own CDK app', 'ts');
    await writeFile(path.join(appDir, 'lake.ts'), app);
    // Type-checked against the package's declarations and compiled as a CDK app would be
    // (strict, CommonJS), then run by plain Node.
    // (node16: Node's own resolution, through the package's `exports` and `types`.)
    const compilerOptions = ['--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--esModuleInterop', '--skipLibCheck', '--types', 'node'];
    await run(path.join(ROOT, 'node_modules/.bin/tsc'), [...compilerOptions, '--rootDir', appDir, '--outDir', appDir, path.join(appDir, 'lake.ts')], { cwd: ROOT }).catch((error: { stdout?: string }) => {
      throw new Error(`docs/your-account.md's app does not compile:\n${error.stdout}`);
    });
    // CDK_OUTDIR makes the app synthesize on exit, as `cdk synth` runs it.
    await run(process.execPath, [path.join(appDir, 'lake.js')], { cwd: ROOT, env: { ...process.env, CDK_OUTDIR: out } });
    // What `cdk synth` would print as warnings is in the cloud assembly's metadata.
    const files = (await readdir(out)).filter((file) => file.endsWith('.json') && !file.endsWith('.template.json'));
    warnings = (await Promise.all(files.map((file) => readFile(path.join(out, file), 'utf8')))).join('\n');
    template = JSON.parse(await readFile(path.join(out, 'DataLake.template.json'), 'utf8')) as Template;
  } finally {
    await removeDir(appDir);
    await removeDir(out);
  }
}, 180_000);

const ofType = (type: string) => Object.values(template.Resources).filter((resource) => resource.Type === type);

/** The function role's statements. */
function functionStatements(): Statement[] {
  return ofType('AWS::IAM::Policy')
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes('FunctionRole'))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

describe("docs/your-account.md's app with the construct", () => {
  it('is at most 15 lines, and synthesizes offline into the lake’s bucket of another account, with its key', async () => {
    expect(require.resolve('esim-export')).toBe(path.join(ROOT, 'dist/cdk/lib/index.js'));
    expect((await docBlock('docs/your-account.md', '## In your own CDK app', 'ts')).trim().split('\n').length).toBeLessThanOrEqual(15);
    expect(ofType('AWS::S3::Bucket')).toEqual([]);
    expect(ofType('AWS::StepFunctions::StateMachine')).toHaveLength(1);
    const [fn] = ofType('AWS::Lambda::Function');
    expect((fn!.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      BUCKET_NAME: 'acme-lake',
      BUCKET_OWNER: '222222222222',
      EXPORT_PREFIX: 'raw/betatel',
      KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:222222222222:key/0d9a6f1e-7c4b-4a52-9f7e-3b1c2d4e5f60',
    });
    // The key was made elsewhere: synth says what its policy must allow.
    expect(warnings).toContain('its key policy must allow the service principal logs.<region>.amazonaws.com');
  });

  it("gives the bucket policy docs/your-account.md asks of the lake's account exactly the function's rights on that bucket", async () => {
    const policy = JSON.parse(await docBlock('docs/your-account.md', 'The lake\'s account adds this to the', 'json')) as { Statement: Statement[] };
    const granted = functionStatements().filter((statement) => [statement.Action].flat().some((action) => action.startsWith('s3:')));
    // Each resource (and list prefix) with the actions allowed on it, however they are grouped into statements.
    const shape = (statements: Statement[]) => {
      const byResource = new Map<string, Set<string>>();
      for (const statement of statements) {
        const where = `${JSON.stringify(statement.Resource).replace(/.*:s3:::/, '').replace(/"\]?\]?\}?$/, '')} ${[statement.Condition?.StringLike?.['s3:prefix'] ?? []].flat().join(',')}`;
        for (const action of [statement.Action].flat()) byResource.set(where, (byResource.get(where) ?? new Set()).add(action));
      }
      return Object.fromEntries([...byResource].map(([where, actions]) => [where, [...actions].sort()]));
    };
    expect(shape(policy.Statement)).toEqual(shape(granted));
    // A write that names an ACL must name bucket-owner-full-control: never public-read.
    const puts = policy.Statement.filter((statement) => [statement.Action].flat().includes('s3:PutObject'));
    expect(puts.map((statement) => statement.Condition)).toEqual([{ StringEqualsIfExists: { 's3:x-amz-acl': 'bucket-owner-full-control' } }]);
  });
});
