/**
 * The day's change set: every eSIM added, changed or removed since the scope's previous
 * published snapshot, in every format the run writes, staged with the run's files and
 * published with them in the same transaction (run/lifecycle.ts), listed in the manifest.
 *
 *   NDJSON   {"change":"changed","changed_fields":["sim_status"],"esim":<the record as the API sent it>}
 *   CSV      change, changed_fields (comma list), then the snapshot's columns
 *   Parquet  change, changed_fields, then the snapshot's columns, typed
 *
 * A removed eSIM has its last known values. A scope's first snapshot has none: there is nothing
 * to compare it with, and the snapshot itself is the whole inventory (the history, esim_history,
 * is built from the snapshots, lib/history.ts).
 * It is computed from NDJSON: when this run or the previous snapshot has none, or the previous
 * one cannot be read, the manifest says why and no change set is written.
 */
import { CHANGE_COLUMNS, CHANGE_OF } from '../columns';
import type { Destination, WrittenObject } from '../destinations';
import { DestinationError } from '../errors';
import type { Encoder, Format } from '../formats';
import { csvEncoder } from '../formats/csv';
import { ndjsonEncoder } from '../formats/ndjson';
import { parquetEncoder } from '../formats/parquet';
import { type ApiRecord, toJsonText } from '../record';
import { fileExtension, type RunKeys, type SnapshotLayout } from '../snapshot/layout';
import type { ChangeSummary, Manifest, ManifestFile, StagedRun } from '../snapshot/manifest';
import { contentType, SnapshotFile } from '../snapshot/snapshot-file';
import { diffSnapshots } from './diff';
import { ContentMismatchError, ndjsonChunks } from './lines';

const ENCODERS: Readonly<Record<Format, () => Encoder>> = {
  ndjson: () => ({
    ...ndjsonEncoder(),
    encode: (records) =>
      records.map((record) => {
        const { kind, fields } = CHANGE_OF.get(record)!;
        return `{"change":"${kind}","changed_fields":${JSON.stringify(fields)},"esim":${toJsonText(record)}}\n`;
      }).join(''),
  }),
  csv: () => csvEncoder(CHANGE_COLUMNS.filter((column) => column.csv)),
  parquet: () => parquetEncoder(CHANGE_COLUMNS),
};

export interface ChangeSetInput {
  readonly destination: Destination;
  /** The run's staging keys. */
  readonly keys: RunKeys;
  /** The run's staged files and settings, and how many eSIMs it read. */
  readonly run: StagedRun;
  readonly records: number;
  readonly layout: SnapshotLayout;
  readonly previous: Manifest | undefined;
  /** Renews the run's lock (between buckets of a large comparison). */
  readonly renew: () => Promise<void>;
  /** Stops the comparison (Ctrl-C, the Lambda's deadline): nothing is published. */
  readonly signal?: AbortSignal;
  /** The most previous records held in memory at once; where the rest spill. */
  readonly bucketRecords: number;
  readonly workDir: string;
}

/** The change set as staged: what the manifest says of it, the files to publish, and a warning when a snapshot to compare with could not be used. */
export interface StagedChangeSet {
  readonly summary: ChangeSummary;
  readonly moves: Array<{ from: string; to: string }>;
  readonly warning?: string;
}

const none = (previous: Manifest | undefined, skipped: string): ChangeSummary => ({
  previous: previous ? { snapshot_date: previous.snapshot_date, run_id: previous.run_id } : null,
  skipped,
  added: 0,
  changed: 0,
  removed: 0,
  files: [],
});

/** The previous snapshot cannot be compared with: no change set, and a warning that says which file and what to do. */
class PreviousUnusable extends Error {}

const unusable = (previous: Manifest, why: string): StagedChangeSet => ({
  summary: { ...none(previous, why), previous_unusable: true },
  moves: [],
  warning: `no change set: ${why}`,
});

/** Computes and stages the change set; returns what the manifest says of it and the staged files to publish. */
export async function stageChangeSet(input: ChangeSetInput): Promise<StagedChangeSet> {
  const { destination, run, layout, previous, signal } = input;
  const before = previous?.files.filter((file) => file.format === 'ndjson') ?? [];
  const after = run.files.filter((file) => file.format === 'ndjson');
  if (!run.settings.changeSet) return { summary: none(previous, 'change sets are off for this run (changeSet false)'), moves: [] };
  if (after.length === 0) return { summary: none(previous, 'this run writes no NDJSON, which the change set is computed from'), moves: [] };
  if (!previous) return { summary: none(undefined, 'the first snapshot of this scope: there is nothing to compare it with'), moves: [] };
  if (before.length === 0) return unusable(previous, `the snapshot of ${previous.snapshot_date} has no NDJSON to compare with (it was exported without it)`);

  const root = destination.keyFor('');
  // The previous snapshot, read through its manifest: each file's SHA-256 and line count checked.
  const previousLines = (): AsyncIterable<Buffer> =>
    (async function* () {
      for (const file of before) yield* readPrevious(destination, file, file.key.slice(root.length), previous.snapshot_date, signal);
    })();
  // This run's own staged files, checked against what the run measured when it wrote them.
  const nextLines = (): AsyncIterable<Buffer> =>
    (async function* () {
      for (const file of after) yield* readStaged(destination, file);
    })();
  const objects: WrittenObject[] = [];
  try {
    const files = await Promise.all(
      run.settings.formats.map(async (format) => {
        const encoder = ENCODERS[format]();
        const key = input.keys.change(format, fileExtension(format, run.settings.compression));
        const object = await destination.write(key, contentType(encoder, run.settings.compression));
        objects.push(object);
        return new SnapshotFile(encoder, key, run.settings.compression, object.stream);
      }),
    );
    const counts = { added: 0, changed: 0, removed: 0 };
    let batch: ApiRecord[] = [];
    const flush = async (): Promise<void> => {
      await Promise.all(files.map((file) => file.write(batch)));
      batch = [];
    };
    const changes = diffSnapshots(previousLines, nextLines, {
      expected: Math.max(previous.records, input.records),
      workDir: input.workDir,
      bucketRecords: input.bucketRecords,
      onBucket: input.renew,
      signal,
    });
    for await (const change of changes) {
      counts[change.kind]++;
      CHANGE_OF.set(change.record, change);
      batch.push(change.record);
      if (batch.length >= 1_000) await flush();
    }
    await flush();
    signal?.throwIfAborted();
    const summaries = await Promise.all(files.map((file) => file.finish()));
    await Promise.all(objects.map((object) => object.complete()));
    return {
      summary: { previous: { snapshot_date: previous.snapshot_date, run_id: previous.run_id }, ...counts, files: summaries.map(({ warnings: _warnings, ...file }) => ({ ...file, key: destination.keyFor(layout.changeKey(file.format)) })) },
      moves: summaries.map((file) => ({ from: file.key, to: layout.changeKey(file.format) })),
    };
  } catch (error) {
    await Promise.all(objects.map((object) => object.discard()));
    signal?.throwIfAborted();
    // A previous snapshot that is not what its manifest says: the snapshot itself is complete
    // and is published; the manifest, the event and a warning say why there is no change set.
    if (error instanceof PreviousUnusable) return unusable(previous, error.message);
    throw error;
  }
}

/**
 * One file of the previous snapshot, checked against its manifest. A read that fails is told
 * apart by the object's hash: a damaged or missing object makes the previous snapshot unusable
 * (PreviousUnusable); an intact one means the read itself failed (a cut download), and the run
 * fails naming the object, to be run again.
 */
async function* readPrevious(destination: Destination, file: ManifestFile, relative: string, day: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  const damaged = (why: string): PreviousUnusable =>
    new PreviousUnusable(`${file.key} of the ${day} snapshot ${why}; export ${day} again (--date ${day}) to repair it`);
  const stream = await destination.read(relative);
  if (!stream) throw damaged('is missing');
  try {
    yield* ndjsonChunks(stream, file.compression === 'gzip', file);
  } catch (error) {
    signal?.throwIfAborted();
    if (error instanceof ContentMismatchError) throw damaged(`is not what its manifest says (${error.message})`);
    const stored = await destination.hash(relative);
    if (stored !== file.sha256) throw damaged(stored === undefined ? 'is missing' : `is damaged (${(error as Error).message})`);
    throw new DestinationError(`could not read ${file.key} of the ${day} snapshot to compare with (${(error as Error).message}); nothing was published. Run again.`, { cause: error });
  }
}

/** One of this run's staged NDJSON files, checked against what the run measured when it wrote it. */
async function* readStaged(destination: Destination, file: ManifestFile): AsyncGenerator<Buffer> {
  const failed = (why: string, cause?: unknown): DestinationError =>
    new DestinationError(`could not read this run's staged file ${destination.keyFor(file.key)} (${why}); nothing was published. Run again.`, { cause });
  const stream = await destination.read(file.key);
  if (!stream) throw failed('it is missing');
  try {
    yield* ndjsonChunks(stream, file.compression === 'gzip', file);
  } catch (error) {
    throw failed((error as Error).message, error);
  }
}
