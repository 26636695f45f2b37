/**
 * README's "Read the exports" recipes, run as README shows them (the code is taken from README
 * itself), on an export that is hard to read right: both item shapes, big numbers, fields neither
 * shape names, names that start with "=", gzipped and uncompressed. DuckDB always; pandas
 * (Debian's python3-pandas) and LibreOffice when they are installed (.ci/run installs both).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FolderDestination } from '../lambda/core/destinations';
import { runExport } from '../lambda/core/run/lifecycle';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { query } from './duckdb';
import { FAST_TUNING, readmeBlock, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';

const ROOT = path.join(__dirname, '..');
const DATE = '2026-11-27';
let api: Sandbox;
let out: string;
let served: string[];

/** A Python 3 with pandas: Debian's (/usr/bin/python3), or whichever python3 has it. */
function pythonWithPandas(): string | undefined {
  return ['/usr/bin/python3', 'python3'].find((python) => spawnSync(python, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0);
}

const soffice = ['/usr/bin/soffice', '/usr/bin/libreoffice'].find((program) => spawnSync(program, ['--version'], { stdio: 'ignore' }).status === 0);

beforeAll(async () => {
  api = await startSandbox({ size: 2_000, shape: 'mixed', bigNumbers: true });
  out = await tempDir();
  for (const compression of ['gzip', 'none'] as const) {
    await runExport({
      settings: { ...settingsFor(api.apiBaseUrl, { compression }), snapshotDate: DATE },
      destination: new FolderDestination(path.join(out, compression)),
      credentials: SANDBOX_CREDENTIALS,
      credentialsSource: 'the test credentials',
      tuning: FAST_TUNING,
    });
  }
  served = api.listing();
}, 60_000);
afterAll(async () => {
  await api.close();
  await removeDir(out);
});

describe.each(['gzip', 'none'])("README's DuckDB recipes on a %s export", (compression) => {
  const sql = async (): Promise<string[]> =>
    (await readmeBlock('**DuckDB**', 'sql'))
      .replaceAll('exports/', `${path.join(out, compression)}/`)
      .split(/;\s*\n/)
      .map((statement) => statement.trim())
      .filter(Boolean);

  it('reads every eSIM from Parquet, CSV and NDJSON, ICCIDs as text, nothing rounded', async () => {
    const [byStatus, csv, ndjson] = await sql();
    const counted = await query(byStatus!);
    expect(counted.reduce((sum, row) => sum + Number(row['count_star()']), 0)).toBe(served.length);

    const items = served.map((text) => JSON.parse(text) as Record<string, unknown>);
    const csvRows = await query(csv!);
    expect(csvRows.map((row) => row.iccid)).toEqual(items.map((item) => item.iccid));
    // extra keeps the fields neither shape names, 2^64 - 1 with every digit.
    expect(csvRows.filter((row) => String(row.extra).includes('"usage_bytes":18446744073709551615'))).toHaveLength(
      served.filter((text) => text.includes('"usage_bytes":18446744073709551615')).length,
    );
    const names = csvRows.map((row) => row.group_name).filter((name) => typeof name === 'string' && name.startsWith('='));
    expect(names.length).toBeGreaterThan(0);

    const lines = await query(ndjson!);
    expect(lines.map((row) => [row.iccid, row.mapped_imsi === null ? null : String(row.mapped_imsi)])).toEqual(
      items.map((item) => [item.iccid, item.mapped_imsi === null ? null : String(item.mapped_imsi)]),
    );
  });
});

const describePandas = pythonWithPandas() ? describe : describe.skip;
describePandas("README's pandas recipe (Debian's python3-pandas)", () => {
  it.each(['gzip', 'none'])('keeps every value of a %s export exactly: text stays text, integers integers, nullable where empty', async (compression) => {
    const recipe = path.join(out, `recipe-${compression}.py`);
    await writeFile(recipe, await readmeBlock('**pandas.**', 'python'));
    const result = spawnSync(pythonWithPandas()!, [path.join(__dirname, 'recipes', 'check_pandas.py'), recipe, path.join(out, compression), DATE], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const checked = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(checked).toMatchObject({ rows: served.length });
    expect(checked.formula_like_names).toBeGreaterThan(0);
    expect(checked.usage_bytes_2_64_minus_1).toBeGreaterThan(0);
    expect(checked.eids).toBeGreaterThan(0);
    expect(result.status).toBe(0);
  });
});

const describeLibreOffice = soffice ? describe : describe.skip;
describeLibreOffice("README's LibreOffice command", () => {
  it('imports the CSV with the ICCID as text and no name turned into a formula', async () => {
    const command = /`(soffice --headless --infilter="[^"]+" --convert-to xlsx esims\.csv)`/.exec(await readFile(path.join(ROOT, 'README.md'), 'utf8'))![1]!;
    const folder = path.join(out, 'spreadsheet');
    execFileSync('mkdir', ['-p', folder]);
    await copyFile(path.join(out, 'none', 'csv', `dt=${DATE}`, 'esims.csv'), path.join(folder, 'esims.csv'));
    const filter = /--infilter="([^"]+)"/.exec(command)![1]!;
    const profile = `-env:UserInstallation=file://${path.join(out, 'lo-profile')}`;
    execFileSync(soffice!, [profile, '--headless', `--infilter=${filter}`, '--convert-to', 'xlsx', 'esims.csv'], { cwd: folder, stdio: 'ignore' });
    // Read the workbook back as flat XML: every cell's type and text, and any formula.
    execFileSync(soffice!, [profile, '--headless', '--convert-to', 'fods', 'esims.xlsx'], { cwd: folder, stdio: 'ignore' });
    const sheet = await readFile(path.join(folder, 'esims.fods'), 'utf8');
    expect(sheet.match(/table:formula=/g) ?? []).toEqual([]);
    const items = served.map((text) => JSON.parse(text) as { iccid: string });
    // Each ICCID is a text cell holding all its digits.
    const iccids = [...sheet.matchAll(/<table:table-cell [^>]*office:value-type="string"[^>]*>\s*<text:p>(\d{19,20})<\/text:p>/g)].map((m) => m[1]);
    expect(iccids).toEqual(items.map((item) => item.iccid));
    expect(sheet).toContain('<text:p>=HYPERLINK(&quot;http://example.invalid&quot;,&quot;click&quot;)</text:p>');
  }, 120_000);
});
