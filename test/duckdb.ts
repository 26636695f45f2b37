/** DuckDB as the real reader of every format the export writes. */
import { DuckDBInstance } from '@duckdb/node-api';

export type Row = Record<string, unknown>;

/** Runs `sql` in a fresh in-memory DuckDB and returns its rows as plain JS values (BIGINT as bigint). */
export async function query(sql: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Row[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A SQL string literal. */
export const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;
