/** Shared test plumbing: temporary folders, reading snapshots back, fast retry settings. */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { runCli } from '../cli/run-cli';
import type { Credentials } from '../lambda/core/api/betatel-client';
import type { Destination } from '../lambda/core/destinations';
import type { Tuning } from '../lambda/core/export';
import { runExport } from '../lambda/core/run/lifecycle';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { defaultSettings, type ExportSettings } from '../lambda/core/settings';
import { SANDBOX_API_KEY, SANDBOX_USER_ID } from '../sandbox/server';

export const SANDBOX_CREDENTIALS = { apiKey: SANDBOX_API_KEY, userId: SANDBOX_USER_ID };

/** Retries in milliseconds instead of seconds, so failure tests run fast; same logic. */
/**
 * Short waits between retries, not short patience: a busy machine can take seconds to answer a
 * page, so no request or retry budget here is one that load could exceed (a test of a hung
 * request sets its own timeout).
 */
export const FAST_TUNING: Partial<Tuning> = {
  requestTimeoutMs: 15_000,
  retryPolicy: { maxAttempts: 8, baseDelayMs: 5, maxDelayMs: 50, budgetMs: 30_000 },
};

/** Default settings, but a fixed page size: tests of paging count requests; `auto` has tests of its own. */
export function settingsFor(apiBaseUrl: string, overrides: Partial<ExportSettings> = {}): ExportSettings {
  return { ...defaultSettings('2026-11-27'), pageSize: 100, apiBaseUrl, ...overrides };
}

/** One export from `apiBaseUrl` (the sandbox, or a server that takes its credentials) into `destination`, with fast retries. */
export function sandboxExport(
  apiBaseUrl: string,
  destination: Destination,
  overrides: Partial<ExportSettings> = {},
  extra: { readonly tuning?: Partial<Tuning>; readonly credentials?: Credentials; readonly signal?: AbortSignal; readonly announce?: boolean } = {},
): Promise<Manifest> {
  return runExport({
    settings: settingsFor(apiBaseUrl, overrides),
    destination,
    credentials: extra.credentials ?? SANDBOX_CREDENTIALS,
    credentialsSource: 'the test credentials',
    tuning: { ...FAST_TUNING, ...extra.tuning },
    signal: extra.signal,
    announce: extra.announce,
  });
}

/** The CLI run in this process (runCli), its stdout and stderr collected, with fast retries unless `tuning` says otherwise. */
export async function runCliCollecting(args: string[], env: NodeJS.ProcessEnv, tuning: Partial<Tuning> = FAST_TUNING): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void): Writable => new Writable({ write: (chunk, _encoding, done) => (append(String(chunk)), done()) });
  const status = await runCli(args, { env, stdout: sink((text) => (stdout += text)), stderr: sink((text) => (stderr += text)), tuning });
  return { status, stdout, stderr };
}

export async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'esim-export-test-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Every file under `dir` (relative path → SHA-256), hidden ones included: proves "nothing changed". */
export async function fingerprint(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        result[`${path.relative(dir, full)}/`] = 'dir';
        await walk(full);
      } else result[path.relative(dir, full)] = createHash('sha256').update(await readFile(full)).digest('hex');
    }
  };
  await walk(dir);
  return result;
}

export function gunzipText(buffer: Buffer): string {
  return gunzipSync(buffer).toString('utf8');
}

export async function readGzip(file: string): Promise<string> {
  return gunzipText(await readFile(file));
}

export function ndjsonLines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

/** Parses CSV with an RFC 4180 parser (csv-parse), header row included. */
export function parseCsvRows(text: string): string[][] {
  return parseCsv(text, { relax_column_count: false }) as string[][];
}

/** The first ```lang block after `marker` in a page of the project (README.md, docs/…): its code, as a user would copy it. */
export async function docBlock(page: string, marker: string, lang: string): Promise<string> {
  const text = await readFile(path.join(__dirname, '..', page), 'utf8');
  const from = text.indexOf(marker);
  if (from < 0) throw new Error(`${page} has no ${marker}`);
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(text.slice(from));
  if (!match) throw new Error(`${page} has no ${lang} block after ${marker}`);
  return match[1]!;
}

/** The first ```lang block after `marker` in README.md. */
export const readmeBlock = (marker: string, lang: string): Promise<string> => docBlock('README.md', marker, lang);
