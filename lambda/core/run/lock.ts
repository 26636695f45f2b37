/**
 * The scope's lock: one run of a scope at a time, and the fence of every write that changes
 * what is published.
 *
 * The lock is a small document (`_runs/lock.json`) written only with S3's conditional writes:
 * created with `If-None-Match: *`, renewed with `If-Match: <its ETag>`. A run that lost it (it
 * expired and another run took it, or Clean up removed it) finds out at its next renewal, and
 * publishing renews before every write to a published key (transaction.ts), so a run that lost
 * its lock cannot publish.
 *
 * A conditional write whose answer was lost is retried by the SDK and then meets its own write
 * (412). `putConditionally` recognises that case by reading the document back: every body
 * written here is unique to its writer (run id, holder, expiry to the millisecond).
 */
import { hostname } from 'node:os';
import type { Destination, WriteCondition } from '../destinations';
import { ExportBusyError, LockLostError } from '../errors';
import { type RunsLayout, scopeInWords } from '../snapshot/layout';

interface LockBody {
  readonly run_id: string;
  /** Who holds it: a state machine execution, a Lambda request, or pid@host for the CLI. */
  readonly holder: string;
  readonly started_at: string;
  /** A lock not renewed by then belongs to a run that died without cleaning up. */
  readonly expires_at: string;
}

/** A held lock is renewed at least this often, and expires this long after its last renewal. */
export const LOCK_RENEW_MS = 5 * 60_000;
export const LOCK_TTL_MS = 20 * 60_000;

/**
 * Writes `body` under `condition`; true when it is stored, whether by this call or by an
 * earlier attempt of the same call whose answer was lost.
 */
export async function putConditionally(destination: Destination, key: string, body: string, condition: WriteCondition): Promise<boolean> {
  if (await destination.putDocument(key, body, condition)) return true;
  const stored = await destination.readDocument(key);
  return stored !== undefined && stored.body.equals(Buffer.from(body));
}

export class ScopeLock {
  constructor(
    private readonly destination: Destination,
    private readonly layout: RunsLayout,
    public readonly runId: string,
  ) {}

  private get scopeName(): string {
    return scopeInWords(this.layout.scope);
  }

  /**
   * Takes the scope's lock, or fails naming the run that holds it. A lock whose run is dead
   * (expired, or a CLI process gone from this machine), or one held by the same `holder` when
   * `sameHolderIsUs` (a Begin retried for the same execution), is taken over: its run id is
   * returned so the caller can finish what that run left (its journal, its staging).
   */
  async acquire(holder: string, options: { now?: Date; sameHolderIsUs?: boolean } = {}): Promise<string | undefined> {
    const now = options.now ?? new Date();
    const body = this.body(holder, now, now);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await putConditionally(this.destination, this.layout.lock, body, { absent: true })) return undefined;
      const current = await this.read();
      if (!current) continue; // released meanwhile
      const { held } = current;
      const ours = held.run_id === this.runId || (options.sameHolderIsUs === true && held.holder === holder);
      if (!ours && !isDead(held, now)) {
        throw new ExportBusyError(
          `another export of ${this.scopeName} is running (run ${held.run_id}, ${held.holder}, since ${held.started_at}); ` +
            `two runs never interleave. Wait for it to finish, or after ${held.expires_at} run again.`,
        );
      }
      if (await putConditionally(this.destination, this.layout.lock, body, { version: current.version })) {
        return held.run_id === this.runId ? undefined : held.run_id;
      }
    }
    throw new ExportBusyError(`another export of ${this.scopeName} took the lock at the same moment; run again.`);
  }

  /**
   * Proves this run still holds the lock and pushes its expiry on, with a conditional write on
   * the lock's ETag; throws LockLostError if another run holds it or it is gone.
   */
  async renew(now = new Date()): Promise<void> {
    const current = await this.read();
    const renewed =
      current?.held.run_id === this.runId &&
      (await putConditionally(this.destination, this.layout.lock, this.body(current.held.holder, new Date(current.held.started_at), now), { version: current.version }));
    if (!renewed) {
      throw new LockLostError(
        `run ${this.runId} lost the lock of ${this.scopeName} (${current ? `run ${current.held.run_id} holds it` : 'it was removed'}); ` +
          'it publishes nothing more. Whoever holds the lock now finishes or undoes what it left.',
      );
    }
  }

  /** Removes the lock if this run holds it. */
  async release(): Promise<void> {
    if ((await this.read())?.held.run_id === this.runId) await this.destination.remove([this.layout.lock]);
  }

  /** The scope's lock as stored, and its version for a conditional write; undefined if none. */
  private async read(): Promise<{ held: LockBody; version: string } | undefined> {
    const current = await this.destination.readDocument(this.layout.lock);
    if (!current) return undefined;
    try {
      return { held: JSON.parse(current.body.toString('utf8')) as LockBody, version: current.version };
    } catch {
      // A damaged lock protects nothing: treat it as expired, so the next run takes it over.
      return { held: { run_id: 'damaged', holder: 'a damaged lock', started_at: '', expires_at: new Date(0).toISOString() }, version: current.version };
    }
  }

  private body(holder: string, startedAt: Date, now: Date): string {
    const body: LockBody = {
      run_id: this.runId,
      holder,
      started_at: startedAt.toISOString(),
      expires_at: new Date(now.getTime() + LOCK_TTL_MS).toISOString(),
    };
    return `${JSON.stringify(body)}\n`;
  }
}

/** The CLI's holder name: a lock whose process is gone from this machine is dead at once. */
export const localHolder = (): string => `pid ${process.pid}@${hostname()}`;

function isDead(held: LockBody, now: Date): boolean {
  if (!(new Date(held.expires_at) >= now)) return true;
  const local = /^pid (\d+)@(.+)$/.exec(held.holder);
  if (!local || local[2] !== hostname()) return false;
  try {
    process.kill(Number(local[1]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
