/**
 * `check`: whether an export with these settings would work, each part tried in seconds and
 * said on a line (✓ or ✗, and on ✗ what to do), with nothing written but a probe that is
 * removed. The CLI (`esim-export check`) and the function (`{"check": true}`) run the same.
 *
 *   credentials   readable, the JSON shape right
 *   the API       one request for one eSIM answers 200 with an item of the documented shape
 *   destination   a probe written (with the deployment's key and owner), read back, listed,
 *                 removed; a key that does not exist reads as missing, not as denied
 *   the lock      free, or who holds it and until when
 *   the newest    the scope's last published snapshot and its age
 */
import { randomUUID } from 'node:crypto';
import type { Credentials } from '../api/betatel-client';
import type { Destination } from '../destinations';
import { DEFAULT_TUNING, type Tuning } from '../export';
import type { ExportSettings } from '../settings';
import { scopeInWords, snapshotLayout } from '../snapshot/layout';
import { readManifest } from '../snapshot/manifest';
import { apiClient } from './invocation';

/** One line of a check. */
export interface CheckLine {
  readonly ok: boolean;
  /** What was checked: "credentials", "the API", … */
  readonly what: string;
  /** What was found, or on ✗ what failed and what to do. */
  readonly says: string;
}

export interface CheckInput {
  readonly settings: ExportSettings;
  readonly destination: Destination;
  /** Reads the credentials, throwing a CredentialsError (or any error) with its own message. */
  readonly credentials: () => Promise<{ readonly credentials: Credentials; readonly credentialsSource: string }>;
  readonly tuning?: Partial<Tuning>;
  readonly signal?: AbortSignal;
  /** Lines the caller adds (the function: the event bus). */
  readonly more?: ReadonlyArray<() => Promise<CheckLine>>;
  readonly now?: Date;
}

const failed = (what: string, error: unknown): CheckLine => ({ ok: false, what, says: (error as Error).message });

/** Every line of the check, in order; a part that depends on one that failed is not tried. */
export async function runCheck(input: CheckInput): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  let credentials: Credentials | undefined;
  try {
    const read = await input.credentials();
    credentials = read.credentials;
    lines.push({ ok: true, what: 'credentials', says: `read from ${read.credentialsSource}` });
    lines.push(await checkApi(input, read.credentials, read.credentialsSource));
  } catch (error) {
    lines.push(failed(credentials ? 'the API' : 'credentials', error));
  }
  const destinationOk = await checkDestination(input.destination);
  lines.push(destinationOk);
  if (destinationOk.ok) lines.push(...(await checkRuns(input)));
  for (const more of input.more ?? []) lines.push(await more().catch((error: unknown) => failed('a further check', error)));
  return lines;
}

async function checkApi(input: CheckInput, credentials: Credentials, credentialsSource: string): Promise<CheckLine> {
  const tuning = { ...DEFAULT_TUNING, ...input.tuning };
  // One request, and an answer in seconds: two tries, not the export's minutes of patience.
  const client = apiClient({ credentials, credentialsSource }, { ...input.settings, concurrency: 1 }, { ...tuning, retryPolicy: { ...tuning.retryPolicy, maxAttempts: 2 } });
  try {
    const page = await client.fetchPage({ offset: 0, count: 1 }, input.signal ?? new AbortController().signal);
    const first = page.records[0];
    return { ok: true, what: 'the API', says: `${client.endpoint} answered: ${page.total.toLocaleString('en-US')} eSIMs${first ? `, the first ${first.iccid}` : ''}` };
  } finally {
    await client.close();
  }
}

/** A probe under the runs folder, written, read back, listed and removed; then a key that is not there. */
async function checkDestination(destination: Destination): Promise<CheckLine> {
  const what = `the destination ${destination.description}`;
  const probe = `_runs/check-${randomUUID()}.json`;
  const body = `${JSON.stringify({ check: true, at: new Date().toISOString() })}\n`;
  try {
    await destination.putDocument(probe, body);
    try {
      const read = await destination.readDocument(probe);
      if (!read?.body.equals(Buffer.from(body))) return { ok: false, what, says: `the probe ${destination.keyFor(probe)} did not read back as written` };
      if (!(await destination.list('_runs/')).includes(probe)) return { ok: false, what, says: `the probe ${destination.keyFor(probe)} is not listed: the export needs s3:ListBucket on the prefix` };
    } finally {
      await destination.remove([probe]);
    }
  } catch (error) {
    return failed(what, error);
  }
  try {
    // The export reads keys that may not exist at every start (the journal, the day's manifest, latest.json).
    await destination.readDocument(`_runs/check-${randomUUID()}-missing.json`);
  } catch (error) {
    return {
      ok: false,
      what,
      says: `a key that does not exist reads as an error, not as missing (${(error as Error).message}): S3 answers 403 rather than 404 when the caller may not list the prefix; grant s3:ListBucket on it`,
    };
  }
  return { ok: true, what, says: 'a probe written, read back, listed and removed; a missing key reads as missing' };
}

/** The scope's lock and its newest snapshot. */
async function checkRuns(input: CheckInput): Promise<CheckLine[]> {
  const { destination, settings } = input;
  const now = input.now ?? new Date();
  const layout = snapshotLayout(settings);
  const lines: CheckLine[] = [];
  try {
    const lock = await destination.readDocument(layout.lock);
    const held = lock && (JSON.parse(lock.body.toString('utf8')) as { holder?: string; expires_at?: string; run_id?: string });
    const live = held?.expires_at !== undefined && Date.parse(held.expires_at) > now.getTime();
    lines.push(
      live
        ? { ok: false, what: 'the lock', says: `held by run ${held.run_id} (${held.holder}) until ${held.expires_at}: an export of ${scopeInWords(layout.scope)} is running; wait for it` }
        : { ok: true, what: 'the lock', says: held ? `free (a lock of run ${held.run_id} expired at ${held.expires_at}: the next run takes it over)` : 'free' },
    );
  } catch (error) {
    lines.push(failed('the lock', error));
  }
  try {
    const latest = await readManifest(destination, layout.latest);
    const age = latest && (now.getTime() - Date.parse(latest.finished_at)) / 3_600_000;
    lines.push({
      ok: true,
      what: 'the newest snapshot',
      says: latest ? `${latest.snapshot_date}, ${latest.records.toLocaleString('en-US')} eSIMs, published ${age!.toFixed(1)} hours ago` : `none yet of ${scopeInWords(layout.scope)}`,
    });
  } catch (error) {
    lines.push(failed('the newest snapshot', error));
  }
  return lines;
}

/** The lines as people read them: ✓ or ✗, what, what was found. */
export const checkText = (lines: readonly CheckLine[]): string => lines.map((line) => `${line.ok ? '✓' : '✗'} ${line.what}: ${line.says}\n`).join('');
