/**
 * What a run keeps in the destination while it is not yet published, under the scope's
 * `_runs/` folder (the underscore keeps it out of Athena, Spark and Hive, and of the globs a
 * reader uses on the format folders):
 *
 *   _runs/lock.json                          who is exporting this scope now: one run at a time
 *   _runs/<run id>/checkpoint.json           settings, where the harvest stands, the files so far
 *   _runs/<run id>/iccids-<n>.bin            the ICCIDs handed on by invocation n (harvest.ts)
 *   _runs/<run id>/parts/<format>/<n>.<ext>  one complete data file per invocation
 *
 * Publishing (publish.ts) copies the parts to the snapshot's keys; a failed run's cleanup
 * removes its `_runs/<run id>/` folder and its lock, so nothing staged outlives a run.
 */
import { hostname } from 'node:os';
import type { Destination } from './destinations';
import { ExportBusyError, ExportError } from './errors';
import type { HarvestCheckpoint } from './harvest';
import { IccidSet } from './iccid-set';
import type { RunsLayout } from './layout';
import type { ExportSettings } from './settings';
import type { FileSummary } from './snapshot-file';

/** Where an unfinished run stands: the whole state handed from one invocation to the next. */
export interface RunCheckpoint {
  readonly schema_version: 1;
  readonly run_id: string;
  readonly settings: ExportSettings;
  readonly started_at: string;
  /** Invocations (slices) that have exported so far. */
  readonly invocations: number;
  readonly harvest: HarvestCheckpoint;
  /** Complete data files, keys relative to the destination (under `_runs/<run id>/parts/`). */
  readonly parts: readonly FileSummary[];
  readonly by_status: Readonly<Record<string, number>>;
  readonly requests: number;
  readonly retries: number;
}

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

export class RunStore {
  constructor(
    private readonly destination: Destination,
    private readonly layout: RunsLayout,
    public readonly runId: string,
  ) {}

  get scope(): string {
    return this.layout.scope;
  }

  get folder(): string {
    return `${this.layout.runs}${this.runId}/`;
  }

  partKey(format: string, part: number, extension: string): string {
    return `${this.folder}parts/${format}/${String(part).padStart(5, '0')}${extension}`;
  }

  /**
   * Saves where the run stands. The checkpoint is the commit point: the ICCID set goes first,
   * under the number of the invocation it belongs to, so a checkpoint always names a set saved
   * with it (an invocation that dies between the two leaves the previous pair as it was).
   */
  async save(checkpoint: RunCheckpoint, seen: IccidSet): Promise<void> {
    await this.destination.putDocument(this.iccidsKey(checkpoint.invocations), seen.toBuffer());
    await this.destination.putDocument(`${this.folder}checkpoint.json`, `${JSON.stringify(checkpoint)}\n`);
    if (checkpoint.invocations > 0) await this.destination.remove([this.iccidsKey(checkpoint.invocations - 1)]);
  }

  /** The checkpoint alone: what publishing needs (the ICCID set is 12 bytes an eSIM). */
  async loadCheckpoint(): Promise<RunCheckpoint> {
    const saved = await this.destination.readDocument(`${this.folder}checkpoint.json`);
    if (!saved) throw this.gone();
    return JSON.parse(saved.body.toString('utf8')) as RunCheckpoint;
  }

  /** The checkpoint and the ICCIDs seen: what the next slice reads on from. */
  async load(): Promise<{ checkpoint: RunCheckpoint; seen: IccidSet }> {
    const checkpoint = await this.loadCheckpoint();
    const iccids = await this.destination.readDocument(this.iccidsKey(checkpoint.invocations));
    if (!iccids) throw this.gone();
    return { checkpoint, seen: IccidSet.fromBuffer(iccids.body) };
  }

  private gone(): ExportError {
    return new ExportError('INTERNAL', `the staged state of run ${this.runId} is gone from ${this.destination.description}; start the export again.`);
  }

  private iccidsKey(invocations: number): string {
    return `${this.folder}iccids-${String(invocations).padStart(5, '0')}.bin`;
  }

  /** Takes the scope's lock, or fails naming the run that holds it. A dead run's lock and staging are cleared. */
  async lock(holder: string, now = new Date()): Promise<void> {
    const body = this.lockBody(holder, now, now);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.destination.putDocument(this.layout.lock, body, { absent: true })) return;
      const current = await this.readLock();
      if (!current) continue; // released meanwhile
      const { held } = current;
      if (held.run_id !== this.runId && !isDead(held, now)) {
        throw new ExportBusyError(
          `another export of ${this.layout.scope || 'the full snapshot'} is running (run ${held.run_id}, ${held.holder}, since ${held.started_at}); ` +
            `two runs never interleave. Wait for it to finish, or after ${held.expires_at} run again.`,
        );
      }
      if (await this.destination.putDocument(this.layout.lock, body, { version: current.version })) {
        if (held.run_id !== this.runId) await new RunStore(this.destination, this.layout, held.run_id).clear();
        return;
      }
    }
    throw new ExportBusyError(`another export of ${this.layout.scope || 'the full snapshot'} took the lock at the same moment; run again.`);
  }

  /** Pushes the lock's expiry on; fails if another run took it over meanwhile. */
  async renew(now = new Date()): Promise<void> {
    const current = await this.readLock();
    const renewed =
      current?.held.run_id === this.runId &&
      (await this.destination.putDocument(this.layout.lock, this.lockBody(current.held.holder, new Date(current.held.started_at), now), { version: current.version }));
    if (!renewed) throw new ExportBusyError(`run ${this.runId} lost its lock to another export of the same scope; nothing was published.`);
  }

  /** Removes this run's staged files and, if it holds it, the lock. */
  async clear(): Promise<void> {
    await this.destination.remove(await this.destination.list(this.folder));
    if ((await this.readLock())?.held.run_id === this.runId) await this.destination.remove([this.layout.lock]);
  }

  /** The scope's lock as stored, and its version for a conditional write; undefined if none. */
  private async readLock(): Promise<{ held: LockBody; version: string } | undefined> {
    const current = await this.destination.readDocument(this.layout.lock);
    return current && { held: JSON.parse(current.body.toString('utf8')) as LockBody, version: current.version };
  }

  private lockBody(holder: string, startedAt: Date, now: Date): string {
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
  if (new Date(held.expires_at) < now) return true;
  const local = /^pid (\d+)@(.+)$/.exec(held.holder);
  if (!local || local[2] !== hostname()) return false;
  try {
    process.kill(Number(local[1]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
