import { randomUUID } from 'node:crypto';
import { FORMATS } from '../lambda/core/formats/names';
import { LONGEST_KEY_BELOW_PREFIX } from '../lambda/core/settings';
import { scopeOf, snapshotLayout } from '../lambda/core/snapshot/layout';

describe('snapshotLayout', () => {
  it('puts each format under its own prefix with a dt partition, and the manifest and latest.json beside them', () => {
    expect(snapshotLayout({ filters: {}, baseFilters: {}, snapshotDate: '2026-11-27', compression: 'gzip' })).toMatchObject({
      scope: '',
      manifest: 'manifests/dt=2026-11-27/manifest.json',
      manifests: 'manifests/',
      latest: 'latest.json',
      runs: '_runs/',
      lock: '_runs/lock.json',
    });
  });

  it('names one file of a format esims.<format>, and numbers the files of one split over several invocations', () => {
    const layout = snapshotLayout({ filters: {}, baseFilters: {}, snapshotDate: '2026-11-27', compression: 'gzip' });
    expect(layout.dataKey('ndjson', 1, 1)).toBe('ndjson/dt=2026-11-27/esims.ndjson.gz');
    expect(layout.dataKey('csv', 1, 1)).toBe('csv/dt=2026-11-27/esims.csv.gz');
    expect(layout.dataKey('parquet', 1, 1)).toBe('parquet/dt=2026-11-27/esims.parquet');
    expect(layout.dataKey('csv', 2, 3)).toBe('csv/dt=2026-11-27/esims-00002.csv.gz');
    expect(layout.dayFolders.parquet).toBe('parquet/dt=2026-11-27/');
  });

  it('names uncompressed files without .gz', () => {
    expect(snapshotLayout({ filters: {}, baseFilters: {}, snapshotDate: '2026-11-27', compression: 'none' }).dataKey('csv', 1, 1)).toBe(
      'csv/dt=2026-11-27/esims.csv',
    );
  });

  it('keeps runs with other filters than the deployment’s own away from the full snapshot', () => {
    const layout = snapshotLayout({ filters: { company: 100 }, baseFilters: {}, snapshotDate: '2026-11-27', compression: 'gzip' });
    expect(layout.dataKey('csv', 1, 1)).toBe('filtered/company=100/csv/dt=2026-11-27/esims.csv.gz');
    expect(layout.latest).toBe('filtered/company=100/latest.json');
    expect(scopeOf({ company: 100, inventory: 5 }, {})).toBe('filtered/company=100/inventory=5');
    expect(scopeOf({ company: 100 }, { company: 100 })).toBe('');
    expect(scopeOf({}, { company: 100 })).toBe('filtered/unfiltered');
  });
});

describe('the longest key below the prefix', () => {
  it('is at most LONGEST_KEY_BELOW_PREFIX bytes, which the prefix\'s limit leaves room for', () => {
    // A filtered scope, each filter at its largest, and every key a run writes.
    const layout = snapshotLayout({ filters: { company: Number.MAX_SAFE_INTEGER, inventory: Number.MAX_SAFE_INTEGER }, baseFilters: {}, snapshotDate: '2026-11-27', compression: 'gzip' });
    const run = layout.run(randomUUID());
    const published = [...FORMATS.flatMap((format) => [layout.dataKey(format, 99_999, 99_999), layout.changeKey(format)]), layout.manifest, layout.latest];
    const backup = run.backup(randomUUID());
    const keys = [
      ...published,
      ...published.map((key) => `${backup}${key}`),
      ...FORMATS.flatMap((format) => [run.file(format, 99_999, '.parquet'), run.change(format, '.parquet')]),
      run.checkpoint,
      run.iccids(99_999),
      layout.journal,
      layout.outboxEntry({ finished_at: new Date().toISOString(), snapshot_date: '2026-11-27', run_id: randomUUID() }),
    ];
    const longest = Math.max(...keys.map((key) => Buffer.byteLength(key)));
    expect(longest).toBeLessThanOrEqual(LONGEST_KEY_BELOW_PREFIX);
    expect(longest).toBeGreaterThan(LONGEST_KEY_BELOW_PREFIX / 2);
  });
});
