/**
 * The code's layout as rules that fail: no import cycle anywhere (madge reads every import,
 * type imports included), and the stages that write a snapshot know nothing of the API.
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
});
