/**
 * The shrink guard: an API that quietly returns part of the inventory, with a `total` to match,
 * would publish a snapshot that drops thousands of eSIMs and move latest.json to it. A snapshot
 * with more than `maxShrink` percent fewer eSIMs than the scope's previous one (the newest
 * published before its day) is refused, unless the run allows it; a first snapshot has no guard.
 */
import type { Destination } from '../destinations';
import { DestinationError, ShrinkError } from '../errors';
import type { ExportSettings } from '../settings';
import { dayOfManifest, manifestKey, type SnapshotLayout } from './layout';
import type { Manifest, ShrinkCheck } from './manifest';

/** The scope's newest published snapshot before `day`, if any. */
export async function previousSnapshot(destination: Destination, layout: SnapshotLayout, day: string): Promise<Manifest | undefined> {
  const days = (await destination.list(layout.manifests)).flatMap((key) => dayOfManifest(key) ?? []);
  const newest = days.filter((date) => date < day).sort().at(-1);
  if (newest === undefined) return undefined;
  const key = manifestKey(layout.scope, newest);
  const stored = await destination.readDocument(key);
  if (!stored) return undefined;
  try {
    const manifest = JSON.parse(stored.body.toString('utf8')) as Manifest;
    if (manifest?.snapshot_date !== newest || !Array.isArray(manifest.files) || typeof manifest.records !== 'number') throw new Error('not a manifest of that day');
    return manifest;
  } catch (error) {
    throw new DestinationError(
      `the manifest ${destination.keyFor(key)} of the previous snapshot is damaged (${(error as Error).message}); nothing was published. ` +
        `Export ${newest} again (--date ${newest}) to repair it, or remove that day's manifest to compare with the day before.`,
      { cause: error },
    );
  }
}

/** Checks `records` against the previous snapshot; throws ShrinkError when it shrank too much and the run may not. */
export function checkShrink(records: number, previous: Manifest | undefined, settings: Pick<ExportSettings, 'maxShrink' | 'allowShrink'>): ShrinkCheck {
  const check: ShrinkCheck = {
    max_shrink_percent: settings.maxShrink,
    allowed: settings.allowShrink,
    previous: previous ? { snapshot_date: previous.snapshot_date, run_id: previous.run_id, records: previous.records } : null,
  };
  // In integers (maxShrink is a whole percentage): 820 of 1,000 is exactly 18% fewer, which --max-shrink 18 allows.
  if (!previous || settings.allowShrink || records * 100 >= previous.records * (100 - settings.maxShrink)) return check;
  const count = (n: number): string => n.toLocaleString('en-US');
  throw new ShrinkError(
    `the snapshot has ${count(records)} eSIMs, ${fewerPercent(records, previous.records, settings.maxShrink)}% fewer than the ${count(previous.records)} of ${previous.snapshot_date}, ` +
      `more than the shrink guard allows (max shrink ${settings.maxShrink}%); nothing was published. ` +
      'If the inventory really shrank, run again with --allow-shrink (or {"allowShrink": true}), or raise maxShrink.',
  );
}

/** How many percent fewer, cut (never rounded up) to as many decimals as it takes to show it is more than `max`. */
export function fewerPercent(records: number, previous: number, max: number): string {
  const exact = ((previous - records) * 100) / previous;
  for (let decimals = 1; decimals < 6; decimals++) {
    const cut = Math.floor(exact * 10 ** decimals) / 10 ** decimals;
    if (cut > max) return String(cut);
  }
  return exact.toFixed(6);
}
