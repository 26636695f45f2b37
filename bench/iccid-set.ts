/**
 * The set of ICCIDs already exported, at 10,000,000 eSIMs: the compact table (IccidSet) against
 * what plain JavaScript would use. The harvest needs the pass each ICCID was last seen in, so
 * the plain alternative is a `Map<string, number>`; a `Set<string>` (no pass) is shown too.
 *
 * bench/run.ts calls `iccidSetRows`; each structure is filled in its own process
 * (`node --expose-gc bench/out/iccid-set.js <kind> <count>`), so its memory is its own.
 */
import { IccidSet } from '../lambda/core/harvest/iccid-set';
import { OUT, run } from './processes';

type Kind = 'table' | 'map' | 'set';

interface Filled {
  kind: Kind;
  count: number;
  ms: number;
  /** Growth of the JS heap and of memory outside it (typed arrays), after a full GC. */
  heapMb: number;
  externalMb: number;
  maxRssMb: number;
}

/** 20-digit ICCIDs, distinct, in no particular order. */
const iccid = (i: number): string => `89${String(10n ** 18n + BigInt(i) * 7919n).slice(1)}`;

function fill(kind: Kind, count: number): Filled {
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  const before = process.memoryUsage();
  const started = performance.now();
  const kept: unknown[] = [];
  if (kind === 'table') {
    const set = new IccidSet();
    set.reserve(count); // as the harvest does, from the API's total
    for (let i = 0; i < count; i++) set.mark(iccid(i), 1);
    kept.push(set);
  } else if (kind === 'map') {
    const map = new Map<string, number>();
    for (let i = 0; i < count; i++) map.set(iccid(i), 1);
    kept.push(map);
  } else {
    const set = new Set<string>();
    for (let i = 0; i < count; i++) set.add(iccid(i));
    kept.push(set);
  }
  const ms = performance.now() - started;
  gc();
  const after = process.memoryUsage();
  const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
  // (`external` already includes `arrayBuffers`.)
  return { kind, count, ms, heapMb: mb(after.heapUsed - before.heapUsed), externalMb: mb(after.external - before.external), maxRssMb: mb(process.resourceUsage().maxRSS * 1024) };
}

const LABELS: Record<Kind, string> = {
  table: 'IccidSet (the export\'s)',
  map: 'Map<string, number>',
  set: 'Set<string>',
};

/** The markdown lines of the benchmark's ICCID-set section. */
export async function iccidSetRows(count = 10_000_000): Promise<string[]> {
  const lines = [
    `## The set of ICCIDs seen, at ${count.toLocaleString('en-US')} eSIMs (20 digits each)`,
    '',
    '| structure | JS heap | outside the heap | peak RSS | time to fill |',
    '|---|---|---|---|---|',
  ];
  for (const kind of ['table', 'map', 'set'] as const) {
    const { stdout } = await run(process.execPath, ['--expose-gc', `${OUT}/iccid-set.js`, kind, String(count)], { maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout) as Filled;
    lines.push(`| ${LABELS[kind]} | ${r.heapMb} MB | ${r.externalMb} MB | ${r.maxRssMb} MB | ${(r.ms / 1000).toFixed(1)} s |`);
  }
  return [...lines, ''];
}

if (require.main === module) {
  const [kind, count] = process.argv.slice(2);
  console.log(JSON.stringify(fill(kind as Kind, Number(count))));
}
