/**
 * A snapshot's manifest: what was published, where, and how it was read. Written after every
 * data file is complete (the commit point of a publication), then copied into latest.json.
 */
import { version } from '../../../package.json';

/** What wrote a snapshot: the package's name and version (the CLI's --version too). */
export const TOOL = { name: 'esim-export', version } as const;
import type { Destination } from '../destinations';
import { scopeName, type SnapshotLayout } from './layout';
import type { HarvestSummary } from '../harvest/harvest';
import { type SchemaChange, schemaWarnings, type Shape } from './schema';
import type { FileSummary } from './snapshot-file';
import { filterFields, type FilterName } from '../filters';
import { LIST_PATH } from '../endpoint';
import type { ExportSettings } from '../settings';

export type ManifestFile = Omit<FileSummary, 'warnings'>;

/**
 * A run's staged snapshot, what its manifest is made from. run/store.ts's RunCheckpoint is this
 * and where the harvest stands; the stages below run/ take this, never the checkpoint.
 */
export interface StagedRun {
  readonly run_id: string;
  readonly settings: ExportSettings;
  readonly started_at: string;
  /** Invocations that have exported so far. */
  readonly invocations: number;
  /** The page size `auto` settled on, once it has. */
  readonly harvest: { readonly pageSize?: number };
  /** Complete data files, keys relative to the destination (under `_runs/<run id>/files/`). */
  readonly files: readonly FileSummary[];
  readonly by_status: Readonly<Record<string, number>>;
  /** The shape the API sent so far (schema.ts); absent in a checkpoint of an earlier version. */
  readonly schema?: Shape;
  readonly requests: number;
  readonly retries: number;
}

/** What the manifest records of the guard. */
export interface ShrinkCheck {
  readonly max_shrink_percent: number;
  /** True when this run was allowed to shrink more (`--allow-shrink`, `{"allowShrink": true}`). */
  readonly allowed: boolean;
  /** The snapshot compared with: the scope's newest before this day; null for a first snapshot. */
  readonly previous: { readonly snapshot_date: string; readonly run_id: string; readonly records: number } | null;
}

/** What the manifest says of the change set. */
export interface ChangeSummary {
  /** The snapshot compared with: the scope's newest before this day; null for a first snapshot. */
  readonly previous: { readonly snapshot_date: string; readonly run_id: string } | null;
  /** Why there is no change set, when there is none. */
  readonly skipped?: string;
  /** True when there was a previous snapshot but it could not be compared with (missing or damaged files, no NDJSON): a warning says which and what to do. */
  readonly previous_unusable?: boolean;
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  readonly files: readonly ManifestFile[];
}

export interface Manifest {
  readonly schema_version: 1;
  /** The run that published it (a retried step recognises its own snapshot by it). */
  readonly run_id: string;
  readonly snapshot_date: string;
  /** 'full' for the deployment's own scope, else the `filtered/…` path it was written under. */
  readonly scope: string;
  readonly records: number;
  readonly api_total: number;
  readonly files: readonly ManifestFile[];
  readonly by_status: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
  /** Where the records came from: the URL, every filter (null when not given), the `count` asked for (what `auto` settled on). */
  readonly source: { readonly api_url: string; readonly page_size: number } & Readonly<Record<FilterName, number | null>>;
  readonly started_at: string;
  readonly finished_at: string;
  readonly requests: number;
  readonly retries: number;
  readonly passes: number;
  /** Invocations that exported (more than one when the state machine ran a long export). */
  readonly invocations: number;
  /** The shrink guard: the limit, whether this run was allowed past it, the snapshot compared with. */
  readonly shrink: ShrinkCheck;
  /** What changed since the previous snapshot, and the change-set files (changes/<format>/dt=…/). */
  readonly changes: ChangeSummary;
  /** The shape the API sent: each field (one level inside objects and `imsis`' items), its JSON types, their counts and an example ICCID (schema.ts). */
  readonly schema: Shape;
  /** How the shape differs from the previous snapshot's; null when it does not, or there is none to compare with. */
  readonly schema_change: SchemaChange | null;
  readonly tool: typeof TOOL;
}

/** `latest.json`: the newest snapshot's manifest and where that manifest is. */
export interface Latest extends Manifest {
  readonly manifest_key: string;
}

/** Which staged file becomes which published file. */
export interface Move {
  readonly from: string;
  readonly to: string;
  readonly file: FileSummary;
}

/** Each format's staged files (one per invocation) in order, to their published keys; a file with no records is kept only if the format has no other. */
export function movesOf(checkpoint: StagedRun, layout: SnapshotLayout): Move[] {
  const moves: Move[] = [];
  for (const format of checkpoint.settings.formats) {
    const all = checkpoint.files.filter((file) => file.format === format);
    const files = all.some((file) => file.records > 0) ? all.filter((file) => file.records > 0) : all.slice(0, 1);
    files.forEach((file, i) => moves.push({ from: file.key, to: layout.dataKey(format, i + 1, files.length), file }));
  }
  return moves;
}

export function manifestOf(
  checkpoint: StagedRun,
  summary: HarvestSummary,
  layout: SnapshotLayout,
  moves: readonly Move[],
  destination: Destination,
  comparison: { readonly shrink: ShrinkCheck; readonly changes: ChangeSummary; readonly schemaChange: SchemaChange | undefined; readonly warnings: readonly string[] },
): Manifest {
  const { settings, harvest } = checkpoint;
  return {
    schema_version: 1,
    run_id: checkpoint.run_id,
    snapshot_date: settings.snapshotDate,
    scope: scopeName(layout.scope),
    records: summary.records,
    api_total: summary.apiTotal,
    files: moves.map(({ to, file: { warnings: _warnings, ...file } }) => ({ ...file, key: destination.keyFor(to) })),
    by_status: Object.fromEntries(Object.entries(checkpoint.by_status).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    warnings: [...summary.warnings, ...moves.flatMap(({ file }) => file.warnings), ...schemaWarnings(comparison.schemaChange), ...comparison.warnings],
    source: {
      api_url: `${settings.apiBaseUrl}${LIST_PATH}`,
      ...filterFields(settings.filters),
      page_size: harvest.pageSize ?? 0,
    },
    started_at: checkpoint.started_at,
    finished_at: new Date().toISOString(),
    requests: checkpoint.requests,
    retries: checkpoint.retries,
    passes: summary.passes,
    invocations: checkpoint.invocations,
    shrink: comparison.shrink,
    changes: comparison.changes,
    schema: checkpoint.schema ?? {},
    schema_change: comparison.schemaChange ?? null,
    tool: TOOL,
  };
}

/** A stored manifest, or undefined if there is none or it is not one (damaged: then it is not any run's). */
export async function readManifest(destination: Destination, key: string): Promise<Manifest | undefined> {
  const stored = await destination.readDocument(key);
  try {
    return stored && (JSON.parse(stored.body.toString('utf8')) as Manifest);
  } catch {
    return undefined;
  }
}
