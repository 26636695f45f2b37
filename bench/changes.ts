/**
 * Change sets in `npm run bench`: an export whose scope has a previous snapshot (the sandbox's
 * inventory a day later: ~1% replaced, ~2% changed), with its change set and without it
 * (changeSet false), at 1,000,000 and 10,000,000 eSIMs, all defaults, the export pinned to one
 * core: peak RSS, wall time, CPU per eSIM, and the work folder the comparison spreads into.
 */
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { exportOnce, SCRATCH, seconds, startSandbox } from './processes';

/** The stack's memory size: peak RSS must leave 30% of it free. */
const LAMBDA_MEMORY_MB = 1024;

export async function changeSetRows(sizes: readonly number[], cleanup: string[]): Promise<string[]> {
  const lines = [
    '## Change sets: a day later, with and without the change set (all defaults, one core)',
    '',
    'The previous day is exported first (unmeasured); then the next day, once with its change set (the default: the previous',
    "snapshot's NDJSON read back and compared by ICCID, buckets of 100,000 spread into gzipped files) and once without",
    `(changeSet false). Headroom is what peak RSS leaves of the stack's ${LAMBDA_MEMORY_MB} MB.`,
    '',
    '| eSIMs | change set | added / changed / removed | wall time | CPU per eSIM | peak RSS | headroom |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const size of sizes) {
    const out = await mkdtemp(path.join(SCRATCH, 'esim-bench-'));
    cleanup.push(out);
    const yesterday = await startSandbox(['--size', String(size), '--day', '0']);
    await exportOnce(yesterday.url, { out, pageSize: 'auto', snapshotDate: '2026-11-26', changeSet: false });
    yesterday.stop();
    const today = await startSandbox(['--size', String(size), '--day', '1']);
    for (const changeSet of [true, false]) {
      const run = await exportOnce(today.url, { out, pageSize: 'auto', snapshotDate: '2026-11-27', changeSet, oneCore: true });
      const counts = changeSet ? `${run.changes.added.toLocaleString('en-US')} / ${run.changes.changed.toLocaleString('en-US')} / ${run.changes.removed.toLocaleString('en-US')}` : '–';
      lines.push(
        `| ${size.toLocaleString('en-US')} | ${changeSet ? 'yes' : 'no'} | ${counts} | ${seconds(run.wallMs)} | ${((run.cpuMs * 1000) / run.records).toFixed(1)} µs | ` +
          `${run.maxRssMb.toFixed(0)} MB | ${(100 * (1 - run.maxRssMb / LAMBDA_MEMORY_MB)).toFixed(0)}% |`,
      );
    }
    today.stop();
  }
  lines.push('');
  return lines;
}
