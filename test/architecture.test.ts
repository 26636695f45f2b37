/**
 * The code's layout as rules that fail: no import cycle anywhere (madge reads every import,
 * type imports included), the core's parts imported one way only (a stage never imports run/,
 * which drives them), and the stages that write a snapshot know nothing of the API.
 */
import path from 'node:path';
import madge from 'madge';

const ROOT = path.resolve(__dirname, '..');

async function graph(): Promise<Awaited<ReturnType<typeof madge>>> {
  return madge(['lambda', 'lib', 'cli', 'bin', 'sandbox'].map((dir) => path.join(ROOT, dir)), {
    baseDir: ROOT,
    fileExtensions: ['ts'],
    tsConfig: path.join(ROOT, 'tsconfig.json'),
  });
}

describe('the code layout', () => {
  it('has no import cycle', async () => {
    const result = await graph();
    expect(Object.keys(result.obj()).length).toBeGreaterThan(40);
    expect(result.circular()).toEqual([]);
  });

  it('keeps the API out of the record model, the formats, the snapshot and the destinations', async () => {
    const imports = (await graph()).obj();
    const writers = Object.keys(imports).filter((file) => /^lambda\/core\/(formats|snapshot|destinations)\/|^lambda\/core\/record\.ts$/.test(file));
    expect(writers.length).toBeGreaterThan(10);
    const reachesApi = writers.flatMap((file) => imports[file]!.filter((dependency) => dependency.startsWith('lambda/core/api/')).map((dependency) => `${file} -> ${dependency}`));
    expect(reachesApi).toEqual([]);
  });

  it('imports the core one way: each part only from the parts below it, and nothing above the core', async () => {
    const imports = (await graph()).obj();
    const edges = Object.entries(imports).flatMap(([file, dependencies]) => dependencies.map((dependency) => [file, dependency] as const));
    const against = edges.filter(([file, dependency]) => {
      const from = PARTS.indexOf(partOf(file));
      const to = PARTS.indexOf(partOf(dependency));
      if (!file.startsWith('lambda/core/')) return false;
      // Inside the core: down the list, or within a part. Outside it (the handler, lib/, cli/): never.
      return to < 0 ? !dependency.startsWith('lambda/core/') && dependency !== 'package.json' : from < 0 || to > from;
    });
    expect(edges.filter(([file]) => file.startsWith('lambda/core/run/')).length).toBeGreaterThan(20);
    expect(against.map(([file, dependency]) => `${file} -> ${dependency}`)).toEqual([]);
    // Every part of the core is in the list: a new folder takes its place in it.
    expect(Object.keys(imports).filter((file) => file.startsWith('lambda/core/') && !PARTS.includes(partOf(file)))).toEqual([]);
  });
});

describe('the edges', () => {
  it('reach the core through its one entry (lambda/core/index.ts): the handler, its steps and the CLI', async () => {
    const imports = (await graph()).obj();
    const edges = Object.keys(imports).filter((file) => /^lambda\/[^/]+\.ts$|^cli\//.test(file));
    expect(edges.length).toBeGreaterThan(8);
    const past = edges.flatMap((file) => imports[file]!.filter((dependency) => dependency.startsWith('lambda/core/') && dependency !== 'lambda/core/index.ts').map((dependency) => `${file} -> ${dependency}`));
    expect(past).toEqual([]);
  });
});

/** The core's parts, lowest first: each may import those before it, never one after it. */
const PARTS = ['endpoint', 'record', 'filters', 'errors', 'aws', 'columns', 'formats', 'settings', 'destinations', 'api', 'harvest', 'snapshot', 'changes', 'export', 'run', 'index'];

/** A core file's part: its folder under lambda/core/, or its name for a file there. */
const partOf = (file: string): string => /^lambda\/core\/([^/.]+)/.exec(file)?.[1] ?? '';

