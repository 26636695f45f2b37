/**
 * Change sets in `npm run bench`: the export with its change set (the default) beside the same
 * export without it (changeSet false), on a scope's first snapshot and on a second day (the
 * sandbox's inventory a day later: ~1% replaced, ~2% changed), all defaults, the export pinned
 * to one core: CPU per eSIM, its ratio, peak RSS and its ratio.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { exportOnce, OUT, SCRATCH, seconds, startSandbox } from './processes';

export async function changeSetRows(sizes: readonly number[], cleanup: string[]): Promise<string[]> {
  const lines = [
    '## Change sets: what the change set costs (all defaults, one core)',
    '',
    "A scope's first snapshot (nothing to compare with: no change set is computed) and a second day (the previous day exported",
    'first, unmeasured; the comparison reads both NDJSON files, classifies every eSIM by a key of its ICCID and the MD5 of its line, then',
    'parses only the eSIMs added, changed or removed), each exported once with its change set and once without (changeSet false).',
    'The targets: CPU per eSIM with the change set at most 1.25× without it, peak RSS within 10%.',
    '',
    '| eSIMs | day | added / changed / removed | wall time with / without | CPU per eSIM with / without | × | peak RSS with / without | × |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const count = (n: number): string => n.toLocaleString('en-US');
  for (const size of sizes) {
    const previous = await mkdtemp(path.join(SCRATCH, 'esim-bench-'));
    cleanup.push(previous);
    const yesterday = await startSandbox(['--size', String(size), '--day', '0']);
    await exportOnce(yesterday.url, { out: previous, pageSize: 'auto', snapshotDate: '2026-11-26', changeSet: false });
    yesterday.stop();
    const today = await startSandbox(['--size', String(size), '--day', '1']);
    for (const day of ['first', 'second'] as const) {
      const runs = [];
      for (const changeSet of [true, false]) {
        const out = await mkdtemp(path.join(SCRATCH, 'esim-bench-'));
        if (day === 'second') await cp(previous, out, { recursive: true });
        runs.push(await exportOnce(today.url, { out, pageSize: 'auto', snapshotDate: '2026-11-27', changeSet, oneCore: true }));
        await rm(out, { recursive: true, force: true });
      }
      const [with_, without] = runs as [(typeof runs)[0], (typeof runs)[0]];
      const perEsim = (run: typeof with_): number => (run.cpuMs * 1000) / run.records;
      const changes = day === 'second' ? `${count(with_.changes.added)} / ${count(with_.changes.changed)} / ${count(with_.changes.removed)}` : '– (first snapshot)';
      lines.push(
        `| ${count(size)} | ${day} | ${changes} | ${seconds(with_.wallMs)} / ${seconds(without.wallMs)} | ${perEsim(with_).toFixed(1)} / ${perEsim(without).toFixed(1)} µs | ` +
          `${(perEsim(with_) / perEsim(without)).toFixed(2)} | ${with_.maxRssMb.toFixed(0)} / ${without.maxRssMb.toFixed(0)} MB | ${(with_.maxRssMb / without.maxRssMb).toFixed(2)} |`,
      );
    }
    today.stop();
  }
  lines.push('');
  return lines;
}

/**
 * `npm run bench:changes -- 200000 1000000`: these rows alone, at the sizes given, printed (not
 * written to BENCHMARKS.md): the quick check while working on the comparison.
 */
if (require.main === module) {
  void (async () => {
    const root = path.resolve(__dirname, '..');
    const entryPoints = { sandbox: path.join(root, 'sandbox/main.ts'), 'export-once': path.join(root, 'bench/export-once.ts') };
    await build({ entryPoints, outdir: OUT, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' });
    const cleanup: string[] = [];
    const sizes = process.argv.slice(2).map(Number);
    for (const line of await changeSetRows(sizes.length > 0 ? sizes : [200_000], cleanup)) console.log(line);
    await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
  })();
}
