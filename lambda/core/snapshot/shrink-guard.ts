/**
 * The shrink guard: an API that quietly returns part of the inventory, with a `total` to match,
 * would publish a snapshot that drops thousands of eSIMs and move latest.json to it. A snapshot
 * with more than `maxShrink` percent fewer eSIMs than the scope's previous one (the newest
 * published before its day) is refused, unless the run allows it; a first snapshot has no guard.
 */
import type { Destination } from '../destinations';
import { ShrinkError } from '../errors';
import type { ExportSettings } from '../settings';
import type { SnapshotLayout } from './layout';
import type { Manifest, ShrinkCheck } from './manifest';

/** The scope's newest published snapshot before `day`, if any. */
export async function previousSnapshot(destination: Destination, layout: SnapshotLayout, day: string): Promise<Manifest | undefined> {
  const days = (await destination.list(layout.manifests)).flatMap((key) => /dt=(\d{4}-\d{2}-\d{2})\/manifest\.json$/.exec(key)?.[1] ?? []);
  const before = days.filter((date) => date < day).sort();
  const newest = before.at(-1);
  if (newest === undefined) return undefined;
  const stored = await destination.readDocument(`${layout.manifests}dt=${newest}/manifest.json`);
  return stored && (JSON.parse(stored.body.toString('utf8')) as Manifest);
}

/** Checks `records` against the previous snapshot; throws ShrinkError when it shrank too much and the run may not. */
export function checkShrink(records: number, previous: Manifest | undefined, settings: Pick<ExportSettings, 'maxShrink' | 'allowShrink'>): ShrinkCheck {
  const check: ShrinkCheck = {
    max_shrink_percent: settings.maxShrink,
    allowed: settings.allowShrink,
    previous: previous ? { snapshot_date: previous.snapshot_date, run_id: previous.run_id, records: previous.records } : null,
  };
  if (!previous || settings.allowShrink || records >= previous.records * (1 - settings.maxShrink / 100)) return check;
  const count = (n: number): string => n.toLocaleString('en-US');
  const fewer = Math.round((1 - records / previous.records) * 1000) / 10;
  throw new ShrinkError(
    `the snapshot has ${count(records)} eSIMs, ${fewer}% fewer than the ${count(previous.records)} of ${previous.snapshot_date}, ` +
      `more than the shrink guard allows (max shrink ${settings.maxShrink}%); nothing was published. ` +
      'If the inventory really shrank, run again with --allow-shrink (or {"allowShrink": true}), or raise maxShrink.',
  );
}
