/**
 * Every format read back by a real reader (DuckDB), the way the README tells users to read it:
 * row counts, column types, ICCIDs as text, and every value equal to what the sandbox served,
 * in both item shapes, with integers beyond 2^53 and names that are hard for CSV.
 */
import path from 'node:path';
import { parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { FolderDestination } from '../lambda/core/destinations';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { runExport } from '../lambda/core/run/lifecycle';
import { PARQUET_COLUMNS } from '../lambda/core/formats/parquet';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { literal, query, type Row } from './duckdb';
import { FAST_TUNING, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';
import { KNOWN_FIELDS } from './oracle';

let api: Sandbox;
let out: string;
let manifest: Manifest;
let served: Array<Record<string, unknown>>;
let servedText: string[];

const fileOf = (format: string): string => path.join(out, manifest.files.find((file) => file.format === format)!.key);

beforeAll(async () => {
  api = await startSandbox({ size: 1_234, shape: 'mixed', bigNumbers: true });
  out = await tempDir();
  manifest = await runExport({
    settings: settingsFor(api.apiBaseUrl),
    destination: new FolderDestination(out),
    credentials: SANDBOX_CREDENTIALS,
    credentialsSource: 'the test credentials',
    tuning: FAST_TUNING,
  });
  servedText = api.listing();
  served = servedText.map((json) => losslessParse(json) as Record<string, unknown>);
});
afterAll(async () => {
  await api.close();
  await removeDir(out);
});

/** Numbers as the digits the API sent (lossless-json keeps them as text). */
const digits = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const ref = (value: unknown): [unknown, unknown] =>
  value !== null && typeof value === 'object' && 'id' in value ? [(value as Row).id, (value as Row).name] : [value, null];

describe('DuckDB reads the Parquet file', () => {
  it('with the typed columns of the contract', async () => {
    const columns = await query(`DESCRIBE SELECT * FROM read_parquet(${literal(fileOf('parquet'))})`);
    expect(Object.fromEntries(columns.map((c) => [c.column_name, c.column_type]))).toEqual({
      iccid: 'VARCHAR',
      sim_status: 'VARCHAR',
      group_id: 'BIGINT',
      group_name: 'VARCHAR',
      inventory_id: 'BIGINT',
      inventory_name: 'VARCHAR',
      company_id: 'BIGINT',
      company_name: 'VARCHAR',
      provisioned_date: 'BIGINT',
      terminated_date: 'BIGINT',
      mapped_imsi: 'BIGINT',
      imsis: 'STRUCT(sponsor_id BIGINT, imsi BIGINT)[]',
      created_date: 'BIGINT',
      modified_date: 'BIGINT',
      extra: 'VARCHAR',
      // UTC instants (Parquet TIMESTAMP, adjusted to UTC): DuckDB's TIMESTAMPTZ.
      provisioned_at: 'TIMESTAMP WITH TIME ZONE',
      terminated_at: 'TIMESTAMP WITH TIME ZONE',
      created_at: 'TIMESTAMP WITH TIME ZONE',
      modified_at: 'TIMESTAMP WITH TIME ZONE',
      // DuckDB reads the day from the dt= folder (Hive partitioning).
      dt: 'DATE',
    });
    expect(columns.map((c) => c.column_name)).toEqual([...PARQUET_COLUMNS, 'dt']);
  });

  it('with every value the sandbox served, in both item shapes', async () => {
    const rows = await query(`SELECT * EXCLUDE (dt, provisioned_at, terminated_at, created_at, modified_at) FROM read_parquet(${literal(fileOf('parquet'))})`);
    expect(rows).toHaveLength(1_234);
    const big = (value: unknown): bigint | null => (value === null || value === undefined ? null : BigInt(String(value)));
    const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
    const expected = served.map((item) => {
      const [groupId, groupName] = ref(item.group);
      const [inventoryId, inventoryName] = ref(item.inventory);
      const [companyId, companyName] = ref(item.company);
      const known = KNOWN_FIELDS;
      const extra = Object.entries(item).filter(([key]) => !known.includes(key));
      return {
        iccid: item.iccid,
        sim_status: text(item.sim_status),
        group_id: big(groupId),
        group_name: text(groupName),
        inventory_id: big(inventoryId),
        inventory_name: text(inventoryName),
        company_id: big(companyId),
        company_name: text(companyName),
        provisioned_date: big(item.provisioned_date),
        terminated_date: big(item.terminated_date),
        mapped_imsi: big(item.mapped_imsi),
        imsis: (item.imsis as Row[]).map((imsi) => ({ sponsor_id: big(imsi.sponsor_id), imsi: big(imsi.imsi) })),
        created_date: big(item.created_date),
        modified_date: big(item.modified_date),
        extra: extra.length === 0 ? null : losslessStringify(Object.fromEntries(extra)),
      };
    });
    expect(rows).toEqual(expected);
    // The 2^64 - 1 that fits no column is in `extra` with every digit.
    expect(rows.some((row) => String(row.extra).includes('"usage_bytes":18446744073709551615'))).toBe(true);
  });
});

describe('DuckDB reads the timestamps', () => {
  it('as UTC instants: seconds and milliseconds told apart by magnitude, 0 and null as null', async () => {
    const rows = await query(
      `SELECT epoch_ms(provisioned_at) AS p, epoch_ms(terminated_at) AS t, epoch_ms(created_at) AS c, epoch_ms(modified_at) AS m FROM read_parquet(${literal(fileOf('parquet'))})`,
    );
    // The README's rule, written out here on its own: 1 to 10^11 - 1 seconds, 10^11 to 10^14 - 1 milliseconds.
    const at = (value: unknown): bigint | null => {
      const n = value === null || value === undefined ? 0 : Number(String(value));
      if (n === 0) return null;
      if (!Number.isInteger(n) || n < 1 || n >= 1e14) return null;
      return BigInt(n < 1e11 ? n * 1000 : n);
    };
    expect(rows).toEqual(served.map((item) => ({ p: at(item.provisioned_date), t: at(item.terminated_date), c: at(item.created_date), m: at(item.modified_date) })));
    // Both units occur in the sandbox's data, and so does "none".
    expect(served.some((item) => Number(item.provisioned_date) > 0 && Number(item.provisioned_date) < 1e11)).toBe(true);
    expect(served.some((item) => Number(item.created_date) >= 1e11)).toBe(true);
    expect(rows.some((row) => row.t === null)).toBe(true);
  });
});

describe('DuckDB reads the CSV file (the README recipe: ICCID as text)', () => {
  it('with every value the sandbox served, names hard for CSV included', async () => {
    const rows = await query(
      `SELECT * FROM read_csv(${literal(fileOf('csv'))}, header = true, types = {'iccid': 'VARCHAR', 'group_name': 'VARCHAR', 'imsis': 'VARCHAR'})`,
    );
    expect(rows).toHaveLength(1_234);
    expect(rows.map((row) => row.iccid)).toEqual(served.map((item) => item.iccid));
    expect(rows.map((row) => [row.group_name, row.inventory_name, row.company_name])).toEqual(
      // A CSV cannot tell an empty name from none: both read back as NULL.
      served.map((item) => [ref(item.group)[1] || null, ref(item.inventory)[1] || null, ref(item.company)[1] || null]),
    );
    expect(rows.map((row) => digits(row.mapped_imsi))).toEqual(served.map((item) => digits(item.mapped_imsi)));
    expect(rows.map((row) => row.imsis)).toEqual(served.map((item) => losslessStringify(item.imsis)));
    expect(new Set(rows.map((row) => row.iccid)).size).toBe(1_234);
  });
});

describe('DuckDB reads the NDJSON file', () => {
  it('line for line as the API sent it, and with ICCIDs as text when typed', async () => {
    const lines = await query(`SELECT json FROM read_ndjson_objects(${literal(fileOf('ndjson'))})`);
    expect(lines.map((line) => line.json)).toEqual(servedText);
    const typed = await query(`SELECT iccid FROM read_json(${literal(fileOf('ndjson'))}, format = 'newline_delimited', columns = {'iccid': 'VARCHAR'})`);
    expect(typed.map((row) => row.iccid)).toEqual(served.map((item) => item.iccid));
  });
});
