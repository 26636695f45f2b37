/**
 * The reading recipes of README and docs/reading.md, run exactly as printed (the code is taken
 * from the pages), in a folder holding `exports/` as `npm start` leaves it: yesterday's and
 * today's snapshots. The inventory is one that is hard to read right: both item shapes, big
 * numbers, fields neither shape names, names that start with "=", gzipped and uncompressed.
 * DuckDB always; pandas (Debian's python3-pandas) and LibreOffice when they are installed
 * (.ci/run installs both). Athena cannot run offline: README's Athena query runs in DuckDB over
 * the same files, under the same names.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FolderDestination } from '../lambda/core/destinations';
import { runExport } from '../lambda/core/run/lifecycle';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { query } from './duckdb';
import { docBlock, FAST_TUNING, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';

const ROOT = path.join(__dirname, '..');
const TODAY = new Date().toISOString().slice(0, 10);
const YESTERDAY = new Date(Date.parse(`${TODAY}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
let apis: Sandbox[];
let base: string;
let served: string[];

/** A Python 3 with pandas: Debian's (/usr/bin/python3), or whichever python3 has it. */
function pythonWithPandas(): string | undefined {
  return ['/usr/bin/python3', 'python3'].find((python) => spawnSync(python, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0);
}

const soffice = ['/usr/bin/soffice', '/usr/bin/libreoffice'].find((program) => spawnSync(program, ['--version'], { stdio: 'ignore' }).status === 0);

/** The folder that holds `exports/` of a compression. */
const home = (compression: string): string => path.join(base, compression);

beforeAll(async () => {
  apis = await Promise.all([0, 1].map((day) => startSandbox({ size: 2_000, shape: 'mixed', bigNumbers: true, day })));
  base = await tempDir();
  for (const compression of ['gzip', 'none'] as const) {
    for (const [i, snapshotDate] of [YESTERDAY, TODAY].entries()) {
      await runExport({
        settings: { ...settingsFor(apis[i]!.apiBaseUrl, { compression }), snapshotDate },
        destination: new FolderDestination(path.join(home(compression), 'exports')),
        credentials: SANDBOX_CREDENTIALS,
        credentialsSource: 'the test credentials',
        tuning: FAST_TUNING,
      });
    }
  }
  served = apis[1]!.listing();
}, 60_000);
afterAll(async () => {
  await Promise.all(apis.map((api) => api.close()));
  await removeDir(base);
});

/**
 * SQL statements as printed, run in DuckDB with their relative paths (`'exports/…`) read from
 * `folder`, as the DuckDB CLI started there would. The paths are made absolute rather than put
 * on DuckDB's file_search_path, which it tries only after the working directory: an `exports/`
 * folder where the tests run (`npm start` makes one) was read instead.
 */
async function runSql(folder: string, statements: string, prelude = ''): Promise<Array<Awaited<ReturnType<typeof query>>>> {
  const absolute = (sql: string): string => sql.replaceAll("'exports/", `'${folder}/exports/`);
  const each = statements
    .split(/;\s*\n/)
    .map((statement) => absolute(statement.trim()))
    .filter(Boolean);
  const setup = absolute(prelude);
  const results = [];
  // One session: a SET VARIABLE holds for the statements after it.
  for (let i = 0; i < each.length; i++) results.push(await query(`${setup}${each.slice(0, i).filter((s) => /^SET /i.test(s)).join(';\n')}${i > 0 ? ';\n' : ''}${each[i]}`));
  return results;
}

/** A `dt` as DuckDB gives it (a DATE from the folder name) as YYYY-MM-DD. */
const dayOf = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value)).slice(0, 10);

const items = (): Array<Record<string, unknown>> => served.map((text) => JSON.parse(text) as Record<string, unknown>);

describe.each(['gzip', 'none'])('the DuckDB recipes on a %s export', (compression) => {
  it("README's: every day's statuses from Parquet; the newest day's CSV, ICCIDs as text, nothing rounded", async () => {
    const [byStatus, , csv] = await runSql(home(compression), await docBlock('README.md', '**DuckDB**', 'sql'));
    expect(byStatus!.filter((row) => dayOf(row.dt) === TODAY).reduce((sum, row) => sum + Number(row.esims), 0)).toBe(served.length);
    expect(new Set(byStatus!.map((row) => dayOf(row.dt)))).toEqual(new Set([YESTERDAY, TODAY]));
    expect(csv!.map((row) => row.iccid)).toEqual(items().map((item) => item.iccid));
  });

  it("docs/reading.md's: Parquet, CSV and NDJSON of the newest day, extra and every digit kept", async () => {
    const [byStatus, , csv, ndjson] = await runSql(home(compression), await docBlock('docs/reading.md', '## DuckDB', 'sql'));
    expect(byStatus!.reduce((sum, row) => sum + Number(row['count_star()']), 0)).toBe(4_000);
    expect(csv!.map((row) => row.iccid)).toEqual(items().map((item) => item.iccid));
    // extra keeps the fields neither shape names, 2^64 - 1 with every digit.
    expect(csv!.filter((row) => String(row.extra).includes('"usage_bytes":18446744073709551615'))).toHaveLength(
      served.filter((text) => text.includes('"usage_bytes":18446744073709551615')).length,
    );
    expect(csv!.map((row) => row.group_name).filter((name) => typeof name === 'string' && name.startsWith('=')).length).toBeGreaterThan(0);
    expect(ndjson!.map((row) => [row.iccid, row.mapped_imsi === null ? null : String(row.mapped_imsi)])).toEqual(
      items().map((item) => [item.iccid, item.mapped_imsi === null ? null : String(item.mapped_imsi)]),
    );
  });

  it("README's Athena query, in DuckDB over the same files under Athena's names", async () => {
    const tables = "CREATE SCHEMA esim_export; CREATE VIEW esim_export.esims_parquet AS SELECT * FROM read_parquet('exports/parquet/*/*.parquet', hive_partitioning = true);";
    const [counts] = await runSql(home(compression), await docBlock('README.md', '**Athena**', 'sql'), tables);
    const expected = new Map<string, number>();
    for (const item of items()) expected.set(String(item.sim_status), (expected.get(String(item.sim_status)) ?? 0) + 1);
    expect(new Map(counts!.map((row) => [String(row.sim_status), Number(row.esims)]))).toEqual(expected);
  });
});

const describePandas = pythonWithPandas() ? describe : describe.skip;
describePandas("the pandas recipes (Debian's python3-pandas)", () => {
  it.each(['gzip', 'none'])("docs/reading.md's keeps every value of a %s export exactly: text stays text, integers integers, nullable where empty", async (compression) => {
    const recipe = path.join(base, `recipe-${compression}.py`);
    await writeFile(recipe, await docBlock('docs/reading.md', '## pandas', 'python'));
    const result = spawnSync(pythonWithPandas()!, [path.join(__dirname, 'recipes', 'check_pandas.py'), recipe, path.join(home(compression), 'exports'), TODAY], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const checked = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(checked).toMatchObject({ rows: served.length });
    expect(checked.formula_like_names).toBeGreaterThan(0);
    expect(checked.usage_bytes_2_64_minus_1).toBeGreaterThan(0);
    expect(checked.eids).toBeGreaterThan(0);
    expect(result.status).toBe(0);
  });

  it("README's counts the newest day's eSIMs by status, as printed", async () => {
    const recipe = path.join(base, 'readme-recipe.py');
    await writeFile(recipe, await docBlock('README.md', '**pandas**', 'python'));
    const result = spawnSync(pythonWithPandas()!, [recipe], { encoding: 'utf8', cwd: home('gzip') });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const counts = [...result.stdout.matchAll(/^(\S+)\s+(\d+)$/gm)].filter(([, status]) => status !== 'sim_status');
    expect(counts.reduce((sum, [, , n]) => sum + Number(n), 0)).toBe(served.length);
  });
});

const describeLibreOffice = soffice ? describe : describe.skip;
describeLibreOffice("README's LibreOffice command", () => {
  it('imports the CSV with the ICCID as text and no name turned into a formula', async () => {
    const command = /`(soffice --headless --infilter="[^"]+" --convert-to xlsx esims\.csv)`/.exec(await readFile(path.join(ROOT, 'README.md'), 'utf8'))![1]!;
    const folder = path.join(base, 'spreadsheet');
    await mkdir(folder, { recursive: true });
    await copyFile(path.join(home('none'), 'exports', 'csv', `dt=${TODAY}`, 'esims.csv'), path.join(folder, 'esims.csv'));
    const filter = /--infilter="([^"]+)"/.exec(command)![1]!;
    const profile = `-env:UserInstallation=file://${path.join(base, 'lo-profile')}`;
    execFileSync(soffice!, [profile, '--headless', `--infilter=${filter}`, '--convert-to', 'xlsx', 'esims.csv'], { cwd: folder, stdio: 'ignore' });
    // Read the workbook back as flat XML: every cell's type and text, and any formula.
    execFileSync(soffice!, [profile, '--headless', '--convert-to', 'fods', 'esims.xlsx'], { cwd: folder, stdio: 'ignore' });
    const sheet = await readFile(path.join(folder, 'esims.fods'), 'utf8');
    expect(sheet.match(/table:formula=/g) ?? []).toEqual([]);
    // Each ICCID is a text cell holding all its digits.
    const iccids = [...sheet.matchAll(/<table:table-cell [^>]*office:value-type="string"[^>]*>\s*<text:p>(\d{19,20})<\/text:p>/g)].map((m) => m[1]);
    expect(iccids).toEqual(items().map((item) => item.iccid));
    expect(sheet).toContain('<text:p>=HYPERLINK(&quot;http://example.invalid&quot;,&quot;click&quot;)</text:p>');
  });
});
