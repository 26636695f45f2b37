/**
 * Where each part of a snapshot lives, relative to the destination's root. Deterministic: the
 * same scope and day always give the same keys, so a re-run replaces and a retry is idempotent.
 *
 *   ndjson/dt=2026-11-27/esims.ndjson.gz        one prefix per format, Hive-style partitions,
 *   csv/dt=2026-11-27/esims.csv.gz              so an Athena table over one never reads the other
 *   parquet/dt=2026-11-27/esims.parquet         (compressed inside: never gzipped)
 *   manifests/dt=2026-11-27/manifest.json       written after every data file is complete
 *   latest.json                                 the newest manifest, written last
 *
 * A run with filters other than the deployment's own goes under
 * `filtered/company=100/inventory=12345/` with the same layout inside, never on the full
 * snapshot's keys.
 */
import { fileCompression } from './formats';
import type { Compression, Filters, Format } from './settings';

export interface SnapshotLayout {
  /** '' for the deployment's own scope, else `filtered/…`. */
  readonly scope: string;
  readonly data: Readonly<Record<Format, string>>;
  readonly manifest: string;
  /** Where every day's manifest of this scope lives. */
  readonly manifests: string;
  readonly latest: string;
}

export function scopeOf(filters: Filters, baseFilters: Filters): string {
  if (filters.company === baseFilters.company && filters.inventory === baseFilters.inventory) return '';
  const parts = ['filtered'];
  if (filters.company !== undefined) parts.push(`company=${filters.company}`);
  if (filters.inventory !== undefined) parts.push(`inventory=${filters.inventory}`);
  // Fewer filters than the deployment's own (possible only from code): still not the full snapshot.
  if (parts.length === 1) parts.push('unfiltered');
  return parts.join('/');
}

export function snapshotLayout(options: {
  filters: Filters;
  baseFilters: Filters;
  snapshotDate: string;
  compression: Compression;
}): SnapshotLayout {
  const scope = scopeOf(options.filters, options.baseFilters);
  const under = (key: string): string => (scope ? `${scope}/${key}` : key);
  const partition = `dt=${options.snapshotDate}`;
  const suffix = (format: Format): string => (fileCompression(format, options.compression) === 'gzip' ? '.gz' : '');
  const dataKey = (format: Format): string => under(`${format}/${partition}/esims.${format}${suffix(format)}`);
  return {
    scope,
    data: { ndjson: dataKey('ndjson'), csv: dataKey('csv'), parquet: dataKey('parquet') },
    manifest: under(`manifests/${partition}/manifest.json`),
    manifests: under('manifests/'),
    latest: under('latest.json'),
  };
}
