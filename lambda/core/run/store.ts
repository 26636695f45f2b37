/**
 * What a run keeps in the destination while it is not yet published, under the scope's
 * `_runs/` folder (the underscore keeps it out of Athena, Spark and Hive, and of the globs a
 * reader uses on the format folders; every key is made by snapshot/layout.ts, RunsLayout):
 * the checkpoint and the ICCID set handed from one invocation to the next, the staged files,
 * and the lock.
 */
import type { Destination } from '../destinations';
import { DestinationError, ExportError } from '../errors';
import type { HarvestCheckpoint } from '../harvest/harvest';
import { IccidSet } from '../harvest/iccid-set';
import type { RunKeys, RunsLayout } from '../snapshot/layout';
import type { StagedRun } from '../snapshot/manifest';
import { ScopeLock } from './lock';
import { readJournal } from './transaction';

/** Where an unfinished run stands: the whole state handed from one invocation to the next. */
export interface RunCheckpoint extends StagedRun {
  readonly schema_version: 1;
  readonly harvest: HarvestCheckpoint;
}

export class RunStore {
  public readonly lock: ScopeLock;
  /** This run's staging keys. */
  public readonly keys: RunKeys;

  constructor(
    public readonly destination: Destination,
    public readonly layout: RunsLayout,
    public readonly runId: string,
  ) {
    this.lock = new ScopeLock(destination, layout, runId);
    this.keys = layout.run(runId);
  }

  get scope(): string {
    return this.layout.scope;
  }

  get folder(): string {
    return this.keys.folder;
  }

  /**
   * Saves where the run stands, while the run holds its lock. The checkpoint is the commit
   * point: the ICCID set goes first, under the number of the invocation it belongs to, so a
   * checkpoint always names a set saved with it (an invocation that dies between the two
   * leaves the previous pair as it was).
   */
  async save(checkpoint: RunCheckpoint, seen: IccidSet): Promise<void> {
    await this.destination.putDocument(this.keys.iccids(checkpoint.invocations), seen.toBuffer());
    await this.lock.renew();
    await this.destination.putDocument(this.keys.checkpoint, `${JSON.stringify(checkpoint)}\n`);
    if (checkpoint.invocations > 0) await this.destination.remove([this.keys.iccids(checkpoint.invocations - 1)]);
  }

  /** The checkpoint alone: what publishing needs (the ICCID set is 12 bytes an eSIM). */
  async loadCheckpoint(): Promise<RunCheckpoint> {
    const key = this.keys.checkpoint;
    const saved = await this.destination.readDocument(key);
    if (!saved) throw this.gone();
    try {
      const checkpoint = JSON.parse(saved.body.toString('utf8')) as RunCheckpoint;
      if (checkpoint?.schema_version !== 1 || checkpoint.run_id !== this.runId || !checkpoint.harvest || !checkpoint.settings) throw new Error('not a checkpoint of this run');
      return checkpoint;
    } catch (error) {
      throw new DestinationError(
        `the checkpoint ${this.destination.keyFor(key)} of run ${this.runId} in ${this.destination.description} is damaged (${(error as Error).message}); ` +
          'this run cannot go on: start the export again (its staging is removed when the run is cleaned up).',
        { cause: error },
      );
    }
  }

  /** The checkpoint and the ICCIDs seen: what the next invocation reads on from. */
  async load(): Promise<{ checkpoint: RunCheckpoint; seen: IccidSet }> {
    const checkpoint = await this.loadCheckpoint();
    const key = this.keys.iccids(checkpoint.invocations);
    const iccids = await this.destination.readDocument(key);
    if (!iccids) throw this.gone();
    try {
      return { checkpoint, seen: IccidSet.fromBuffer(iccids.body) };
    } catch (error) {
      throw new DestinationError(
        `the ICCID set ${this.destination.keyFor(key)} of run ${this.runId} in ${this.destination.description} is damaged (${(error as Error).message}); start the export again.`,
        { cause: error },
      );
    }
  }

  private gone(): ExportError {
    return new ExportError('INTERNAL', `the staged state of run ${this.runId} is gone from ${this.destination.description}; start the export again.`);
  }


  /**
   * Removes this run's staged files and, if it holds it, the lock. A backup that an unfinished
   * publication's journal names is kept: only finishing or undoing that publication removes it.
   */
  async clear(): Promise<void> {
    const journal = await readJournal(this.destination, this.layout);
    const keep = journal?.backup.startsWith(this.folder) ? journal.backup : undefined;
    const staged = await this.destination.list(this.folder);
    await this.destination.remove(keep ? staged.filter((key) => !key.startsWith(keep)) : staged);
    await this.lock.release();
  }
}
