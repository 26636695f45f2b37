/**
 * The day's change set: every eSIM added, changed or removed since the scope's previous
 * published snapshot, in every format the run writes, staged with the run's files and
 * published with them in the same transaction (run/lifecycle.ts), listed in the manifest.
 *
 *   NDJSON   {"change":"changed","changed_fields":["sim_status"],"esim":<the record as the API sent it>}
 *   CSV      change, changed_fields (comma list), then the snapshot's columns
 *   Parquet  change, changed_fields, then the snapshot's columns, typed
 *
 * A removed eSIM has its last known values. A scope's first snapshot lists every eSIM as added.
 * It is computed from NDJSON: when this run or the previous snapshot has none, or the previous
 * one cannot be read, the manifest says why and no change set is written.
 */
import { tmpdir } from 'node:os';
import { type Column, COLUMNS } from '../columns';
import type { Destination, WrittenObject } from '../destinations';
import { ExportAbortedError, LockLostError } from '../errors';
import type { Encoder } from '../formats';
import { csvEncoder } from '../formats/csv';
import { ndjsonEncoder } from '../formats/ndjson';
import { parquetEncoder } from '../formats/parquet';
import { type ApiRecord, toJsonText } from '../record';
import type { Format } from '../settings';
import type { RunCheckpoint } from '../run/store';
import { fileExtension, type SnapshotLayout } from '../snapshot/layout';
import type { ChangeSummary, Manifest, ManifestFile } from '../snapshot/manifest';
import { contentType, SnapshotFile } from '../snapshot/snapshot-file';
import { type Change, diffSnapshots, ndjsonLines } from './diff';

const CHANGE_OF = new WeakMap<ApiRecord, Change>();

/** The change set's columns: the kind of change, the fields that changed, then the snapshot's. */
export const CHANGE_COLUMNS: readonly Column[] = [
  { name: 'change', type: 'string', required: true, csv: true, value: (record) => CHANGE_OF.get(record)?.kind },
  { name: 'changed_fields', type: 'string', required: false, csv: true, value: (record) => CHANGE_OF.get(record)?.fields.join(',') || null },
  ...COLUMNS,
];

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
  /** The run's staging folder. */
  readonly runFolder: string;
  readonly checkpoint: RunCheckpoint;
  readonly layout: SnapshotLayout;
  readonly previous: Manifest | undefined;
  /** Renews the run's lock (between buckets of a large comparison). */
  readonly renew: () => Promise<void>;
}

const none = (previous: ChangeSummary['previous'], skipped: string): ChangeSummary => ({ previous, skipped, added: 0, changed: 0, removed: 0, files: [] });

/** Computes and stages the change set; returns what the manifest says of it and the staged files to publish. */
export async function stageChangeSet(input: ChangeSetInput): Promise<{ summary: ChangeSummary; moves: Array<{ from: string; to: string }> }> {
  const { destination, checkpoint, layout, previous } = input;
  // A scope's first snapshot is compared with nothing: every eSIM is added, so the history
  // (esim_history) can be built from the change sets alone.
  const compared = previous ? { snapshot_date: previous.snapshot_date, run_id: previous.run_id } : null;
  const before = previous?.files.filter((file) => file.format === 'ndjson') ?? [];
  const after = checkpoint.files.filter((file) => file.format === 'ndjson');
  if (!checkpoint.settings.changeSet) return { summary: none(compared, 'change sets are off for this run (changeSet false)'), moves: [] };
  if (after.length === 0) return { summary: none(compared, 'this run writes no NDJSON, which the change set is computed from'), moves: [] };
  if (previous && before.length === 0) return { summary: none(compared, `the snapshot of ${previous.snapshot_date} has no NDJSON to compare with`), moves: [] };

  const root = destination.keyFor('');
  const linesOf = (keys: readonly ManifestFile[], relative: (key: string) => string) =>
    async function* (): AsyncIterable<string> {
      for (const file of keys) {
        const stream = await destination.read(relative(file.key));
        if (!stream) throw new Error(`${file.key} is missing`);
        yield* ndjsonLines(stream, file.compression === 'gzip');
      }
    };
  const objects: WrittenObject[] = [];
  try {
    const files = await Promise.all(
      checkpoint.settings.formats.map(async (format) => {
        const encoder = ENCODERS[format]();
        const key = `${input.runFolder}changes/${format}${fileExtension(format, checkpoint.settings.compression)}`;
        const object = await destination.write(key, contentType(encoder, checkpoint.settings.compression));
        objects.push(object);
        return new SnapshotFile(encoder, key, checkpoint.settings.compression, object.stream);
      }),
    );
    const counts = { added: 0, changed: 0, removed: 0 };
    let batch: ApiRecord[] = [];
    const flush = async (): Promise<void> => {
      await Promise.all(files.map((file) => file.write(batch)));
      batch = [];
    };
    const changes = diffSnapshots(
      previous && linesOf(before, (key) => key.slice(root.length)),
      linesOf(after, (key) => key),
      { expected: Math.max(previous?.records ?? 0, checkpoint.harvest.summary?.records ?? 0), workDir: tmpdir(), onBucket: input.renew },
    );
    let seen = 0;
    for await (const change of changes) {
      // A first snapshot's change set is one long pass with no buckets: the lock is renewed as it goes.
      if (++seen % 100_000 === 0) await input.renew();
      counts[change.kind]++;
      CHANGE_OF.set(change.record, change);
      batch.push(change.record);
      if (batch.length >= 1_000) await flush();
    }
    await flush();
    const summaries = await Promise.all(files.map((file) => file.finish()));
    await Promise.all(objects.map((object) => object.complete()));
    return {
      summary: { previous: compared, ...counts, files: summaries.map(({ warnings: _warnings, ...file }) => ({ ...file, key: destination.keyFor(layout.changeKey(file.format)) })) },
      moves: summaries.map((file) => ({ from: file.key, to: layout.changeKey(file.format) })),
    };
  } catch (error) {
    await Promise.all(objects.map((object) => object.discard()));
    if (error instanceof LockLostError || error instanceof ExportAbortedError) throw error;
    // The snapshot itself is complete: it is published, and the manifest says why there is no change set.
    const why = previous ? `the snapshot of ${previous.snapshot_date} could not be compared` : 'the change set could not be written';
    return { summary: none(compared, `${why}: ${(error as Error).message}`), moves: [] };
  }
}
