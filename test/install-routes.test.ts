/**
 * The construct installed as docs/your-account.md says, by each route it names, into a fresh
 * CDK app outside the package's folder: a local path (npm links the folder), a packed tarball,
 * and a git URL (of this repository's committed HEAD: npm clones it and runs its `prepare`).
 * Each app is the page's own code, compiled and run by plain Node to synthesize offline, with
 * the function bundle the package ships (no esbuild in the app).
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { docBlock, removeDir, tempDir } from './helpers';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const versionOf = async (name: string): Promise<string> => (JSON.parse(await readFile(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

let base: string;
let tarball: string;

beforeAll(async () => {
  base = await tempDir();
  // The package as it ships: the construct compiled, the function bundled, then packed.
  await run('npm', ['run', '-s', 'build:construct'], { cwd: ROOT });
  await run('npm', ['run', '-s', 'build:function'], { cwd: ROOT });
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', base], { cwd: ROOT });
  tarball = path.join(base, stdout.trim().split('\n').pop()!);
});
afterAll(() => removeDir(base));

const routes: Array<[string, () => string]> = [
  ['a local path', () => ROOT],
  ['a packed tarball', () => tarball],
  ['a git URL', () => `git+file://${ROOT}`],
];

// The three installs are mostly waiting on npm: side by side.
describe('docs/your-account.md’s app, with the package installed', () => {
  it.concurrent.each(routes)('from %s: outside the package folder, synthesized offline, its function the bundle the package ships', async (_route, spec) => {
    const app = path.join(base, `app-${Math.random().toString(36).slice(2)}`);
    await mkdir(app);
    const dependencies = { 'aws-cdk-lib': await versionOf('aws-cdk-lib'), constructs: await versionOf('constructs'), 'esim-export': spec() };
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'my-cdk-app', private: true, dependencies }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app });
    await writeFile(path.join(app, 'lake.ts'), await docBlock('docs/your-account.md', '## In your own CDK app', 'ts'));
    const compiler = ['--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--esModuleInterop', '--skipLibCheck'];
    await run(path.join(ROOT, 'node_modules/.bin/tsc'), [...compiler, '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules/@types'), 'lake.ts'], { cwd: app });
    await run(process.execPath, ['lake.js'], { cwd: app, env: { ...process.env, CDK_OUTDIR: path.join(app, 'cdk.out') } });

    const template = JSON.parse(await readFile(path.join(app, 'cdk.out', 'DataLake.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Handler?: string } }> };
    const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Handler === 'index.handler');
    expect(functions).toHaveLength(1);
    // The asset is the shipped bundle: index.js and its source map, nothing bundled here.
    const assets = (await readdir(path.join(app, 'cdk.out'))).filter((name) => name.startsWith('asset.'));
    const bundles = await Promise.all(assets.map(async (asset) => (await readdir(path.join(app, 'cdk.out', asset))).sort()));
    expect(bundles).toContainEqual(['index.js', 'index.js.map']);
  });
});
