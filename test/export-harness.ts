/**
 * What the export tests share: a fresh output folder per test, sandboxes closed after it, and
 * one export against a sandbox with fast retries.
 */
import path from 'node:path';
import { FolderDestination } from '../lambda/core/destinations';
import type { Tuning } from '../lambda/core/export';
import type { ExportSettings } from '../lambda/core/settings';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { type Sandbox, type SandboxOptions, startSandbox } from '../sandbox/server';
import { ndjsonLines, parseCsvRows, readGzip, removeDir, sandboxExport, tempDir } from './helpers';

export interface ExportHarness {
  /** This test's output folder. */
  readonly out: () => string;
  sandbox(options: SandboxOptions): Promise<Sandbox>;
  exportFrom(api: Sandbox, overrides?: Partial<ExportSettings>, extra?: { tuning?: Partial<Tuning>; credentials?: { apiKey: string; userId: string }; folder?: string }): Promise<Manifest>;
  ndjsonOf(folder?: string, date?: string): Promise<string[]>;
  csvOf(folder?: string, date?: string): Promise<string[][]>;
}

/** Registers the hooks; call at the top of a test file. */
export function exportHarness(): ExportHarness {
  let out = '';
  const sandboxes: Sandbox[] = [];
  beforeEach(async () => {
    out = await tempDir();
  });
  afterEach(async () => {
    await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.close()));
    await removeDir(out);
  });
  return {
    out: () => out,
    sandbox: async (options) => {
      const started = await startSandbox(options);
      sandboxes.push(started);
      return started;
    },
    exportFrom: (api, overrides = {}, extra = {}) => sandboxExport(api.apiBaseUrl, new FolderDestination(extra.folder ?? out), overrides, extra),
    ndjsonOf: async (folder = out, date = '2026-11-27') => ndjsonLines(await readGzip(path.join(folder, `ndjson/dt=${date}/esims.ndjson.gz`))),
    csvOf: async (folder = out, date = '2026-11-27') => parseCsvRows(await readGzip(path.join(folder, `csv/dt=${date}/esims.csv.gz`))),
  };
}
