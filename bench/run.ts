/**
 * `npm run bench`: speed, memory and cost of real exports against the sandbox, side by side
 * in one run. The sandbox and each export run in their own Node.js processes (bundled with
 * esbuild first, as the Lambda is), so neither steals the other's event loop and each
 * export's peak RSS is its own. Prints a table and writes BENCHMARKS.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Format } from '../lambda/core/formats/names';
import { defaultOf } from '../lambda/core/settings';
import { changeSetRows } from './changes';
import { iccidSetRows } from './iccid-set';
import type { ExportOnceInput } from './export-once';
import { type ExportRun, exportOnce, exportSteps, median, OUT, SCRATCH, seconds, startSandbox } from './processes';

const ROOT = path.resolve(__dirname, '..');

/** The stack's memory size (lib/esim-export-stack.ts default) and the published ARM price. */
/** The function's memory, as the stack deploys it by default. */
const LAMBDA_MEMORY_MB = defaultOf('memorySize');
const ARM_PRICE_PER_GB_SECOND = 0.0000133334; // us-east-1, first 7.5 billion GB-s a month
const PRICE_PER_REQUEST = 0.0000002;

async function main(): Promise<void> {
  await build({
    entryPoints: {
      sandbox: path.join(ROOT, 'sandbox/main.ts'),
      'export-once': path.join(ROOT, 'bench/export-once.ts'),
      'export-steps': path.join(ROOT, 'bench/export-steps.ts'),
      'iccid-set': path.join(ROOT, 'bench/iccid-set.ts'),
    },
    outdir: OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
  const lines: string[] = [];
  const say = (line = ''): void => {
    console.log(line);
    lines.push(line);
  };
  const cleanup: string[] = [];

  // The formats of version 0.1, and the default now (Parquet added): each table shows both, so
  // the cost of the Parquet file is its own line.
  const formatSets: Array<[string, Format[]]> = [['ndjson, csv', ['ndjson', 'csv']], ['ndjson, csv, parquet (default formats)', ['ndjson', 'csv', 'parquet']]];

  // 1. The export's own time against the floor pages × latency ÷ concurrency, at a realistic
  // latency (50 ms a page), default settings: the API, not the CPU, should be the limit.
  {
    const apiSize = 100_000;
    const apiLatencyMs = 50;
    const apiPages = apiSize / 100;
    const api = await startSandbox(['--size', String(apiSize), '--latency', String(apiLatencyMs), '--cache-pages']);
    cleanup.push((await exportOnce(api.url)).out);
    const floor = (apiPages * apiLatencyMs) / defaultOf('concurrency');
    say(`## The API is the limit: ${apiSize.toLocaleString('en-US')} eSIMs, ${apiLatencyMs} ms per request (${apiPages} pages of 100)`);
    say();
    say('| formats, page size | wall time | floor (pages × latency ÷ concurrency) | × floor | CPU time | peak RSS |');
    say('|---|---|---|---|---|---|');
    for (const [label, formats] of formatSets) {
      const results: ExportRun[] = [];
      for (let i = 0; i < 3; i++) results.push(await exportOnce(api.url, { formats }));
      cleanup.push(...results.map((r) => r.out));
      const wall = median(results.map((r) => r.wallMs));
      const cpu = median(results.map((r) => r.cpuMs));
      const rss = median(results.map((r) => r.maxRssMb));
      say(`| ${label}, page 100 | ${seconds(wall)} | ${seconds(floor)} | ${(wall / floor).toFixed(2)} | ${seconds(cpu)} | ${rss.toFixed(0)} MB |`);
    }
    // The default page size, `auto`: ten times fewer, larger pages; the floor is its own pages'.
    const results: ExportRun[] = [];
    for (let i = 0; i < 3; i++) results.push(await exportOnce(api.url, { pageSize: 'auto' }));
    cleanup.push(...results.map((r) => r.out));
    const auto = results.sort((a, b) => a.wallMs - b.wallMs)[1]!;
    const autoFloor = (auto.requests * apiLatencyMs) / defaultOf('concurrency');
    say(
      `| ndjson, csv, parquet, page auto (all defaults: ${auto.requests} requests) | ${seconds(auto.wallMs)} | ${seconds(autoFloor)} | ` +
        `${(auto.wallMs / autoFloor).toFixed(2)} | ${seconds(auto.cpuMs)} | ${auto.maxRssMb.toFixed(0)} MB |`,
    );
    api.stop();
    say();
  }

  // 2. Concurrency at 20 ms latency, 60,000 eSIMs, against the floor pages × latency ÷ concurrency.
  const latencyMs = 20;
  const size = 60_000;
  const pages = Math.ceil(size / 100);
  // Where a section measures speed, the sandbox answers from pages it has already rendered (a
  // warm-up export renders them): a remote API's own work does not run on the exporting machine.
  let sandbox = await startSandbox(['--size', String(size), '--latency', String(latencyMs), '--cache-pages']);
  cleanup.push((await exportOnce(sandbox.url)).out);
  say(`## Concurrency: ${size.toLocaleString('en-US')} eSIMs, ${latencyMs} ms per request (${pages} pages)`);
  say();
  say('| concurrency | wall time | floor | × floor | speed-up vs 1 |');
  say('|---|---|---|---|---|');
  let single = 0;
  let reference: ExportRun | undefined;
  const rows: Array<[string, number]> = [['1', 1], ['2', 2], ['4', 4], ['8', 8], ['16', 16], [`default (${defaultOf('concurrency')})`, defaultOf('concurrency')]];
  for (const [label, concurrency] of rows) {
    const repeats = concurrency === 1 ? 1 : 3;
    const results: ExportRun[] = [];
    for (let i = 0; i < repeats; i++) results.push(await exportOnce(sandbox.url, { concurrency }));
    cleanup.push(...results.map((r) => r.out));
    const wall = median(results.map((r) => r.wallMs));
    if (concurrency === 1) single = wall;
    reference ??= results[0];
    const floor = (pages * latencyMs) / concurrency;
    say(`| ${label} | ${seconds(wall)} | ${seconds(floor)} | ${(wall / floor).toFixed(2)} | ${(single / wall).toFixed(1)}× |`);
  }
  sandbox.stop();
  say();

  // 3. Peak memory at 100,000 and 1,000,000 eSIMs (no latency: the most data in flight).
  say('## Peak memory (RSS of the export process), no latency');
  say();
  say('Each peak is the median of three runs (a peak is a maximum: one busy moment moves it). "Capped" runs the same export once with');
  say("V8's old space capped at 64 MB (`node --max-old-space-size=64`), to show what the export keeps alive, apart from the garbage V8");
  say('lets pile up when memory is plentiful; the shipped CLI and Lambda run uncapped.');
  say();
  say('| formats, page size | 100,000 | 1,000,000 | ÷ | wall time (1,000,000) | capped: 100,000 | capped: 1,000,000 | ÷ | capped wall time (1,000,000) |');
  say('|---|---|---|---|---|---|---|---|---|');
  const memoryRows: Array<[string, Pick<ExportOnceInput, 'formats' | 'pageSize'>]> = [
    ...formatSets.map(([label, formats]): [string, Pick<ExportOnceInput, 'formats'>] => [`${label}, page 100`, { formats }]),
    ['ndjson, csv, parquet, page auto (all defaults)', { pageSize: 'auto' }],
  ];
  const sizes = [100_000, 1_000_000];
  const peaks = new Map<string, ExportRun>();
  for (const count of sizes) {
    sandbox = await startSandbox(['--size', String(count)]);
    for (const [label, options] of memoryRows) {
      for (const flags of [[], ['--max-old-space-size=64']]) {
        const results: ExportRun[] = [];
        for (let i = 0; i < (flags.length > 0 ? 1 : 3); i++) results.push(await exportOnce(sandbox.url, options, flags));
        cleanup.push(...results.map((r) => r.out));
        peaks.set(`${label} ${count} ${flags.length}`, results.sort((x, y) => x.maxRssMb - y.maxRssMb)[results.length >> 1]!);
      }
    }
    sandbox.stop();
  }
  for (const [label] of memoryRows) {
    const cells = [0, 1].map((capped) => {
      const [small, large] = sizes.map((count) => peaks.get(`${label} ${count} ${capped}`)!);
      return `${small!.maxRssMb.toFixed(0)} MB | ${large!.maxRssMb.toFixed(0)} MB | ${(large!.maxRssMb / small!.maxRssMb).toFixed(2)}× | ${seconds(large!.wallMs)}`;
    });
    say(`| ${label} | ${cells.join(' | ')} |`);
  }
  say();

  // 4. Lambda cost per 100,000 eSIMs at the stack's memory size, 20 ms per request.
  say(`## Lambda cost per 100,000 eSIMs (${LAMBDA_MEMORY_MB} MB, ARM, ${latencyMs} ms per request, median of 3)`);
  say();
  say('| formats, page size | duration | peak RSS | GB-seconds | cost |');
  say('|---|---|---|---|---|');
  sandbox = await startSandbox(['--size', '100000', '--latency', String(latencyMs), '--cache-pages']);
  cleanup.push((await exportOnce(sandbox.url)).out);
  for (const [label, options] of memoryRows) {
    const results: ExportRun[] = [];
    for (let i = 0; i < 3; i++) results.push(await exportOnce(sandbox.url, options));
    cleanup.push(...results.map((r) => r.out));
    const costRun = results.sort((a, b) => a.wallMs - b.wallMs)[1]!;
    const gbSeconds = (LAMBDA_MEMORY_MB / 1024) * (costRun.wallMs / 1000);
    say(
      `| ${label} | ${seconds(costRun.wallMs)} | ${costRun.maxRssMb.toFixed(0)} MB | ${gbSeconds.toFixed(2)} | ` +
        `$${(gbSeconds * ARM_PRICE_PER_GB_SECOND + PRICE_PER_REQUEST).toFixed(6)} |`,
    );
  }
  sandbox.stop();
  say();

  // 5. Adaptive pacing: a sandbox that allows only N requests a second.
  const limit = 50;
  sandbox = await startSandbox(['--size', String(size), '--latency', String(latencyMs), '--rate-limit', String(limit), '--timeline']);
  const paced = await exportOnce(sandbox.url);
  cleanup.push(paced.out);
  const stats = await sandbox.stats();
  sandbox.stop();
  const timeline = stats.timeline ?? [];
  const end = timeline.at(-1)?.[0] ?? 0;
  const settled = timeline.filter(([ms]) => ms >= end / 2);
  const throttled = (entries: Array<[number, number]>): number => entries.filter(([, status]) => status === 429).length;
  const exact = paced.files.every((file, i) => file.sha256 === reference?.files[i]?.sha256);
  say(`## Adaptive pacing: the sandbox allows ${limit} requests/s (${size.toLocaleString('en-US')} eSIMs, ${latencyMs} ms per request)`);
  say();
  say('| wall time | requests | answered 429 (all) | answered 429 (second half) | achieved rate | snapshot identical to unthrottled |');
  say('|---|---|---|---|---|---|');
  say(
    `| ${seconds(paced.wallMs)} | ${timeline.length} | ${throttled(timeline)} (${((100 * throttled(timeline)) / timeline.length).toFixed(1)}%) | ` +
      `${throttled(settled)} (${((100 * throttled(settled)) / Math.max(1, settled.length)).toFixed(1)}%) | ` +
      `${((timeline.length - throttled(timeline)) / (paced.wallMs / 1000)).toFixed(1)} pages/s | ${exact ? 'yes' : 'NO'} |`,
  );
  say();

  // 6. Any size: 2,000,000 eSIMs under a rate limit of 10 requests a second, run as the state
  // machine runs it (an invocation stops after MAX_RUN_SECONDS, 720 in the stack). Time
  // compressed 10×: 200,000 eSIMs with 72 s invocations take the same number of invocations
  // and a tenth of the requests and wall time (under a rate limit both scale with the pages).
  {
    const compression = 10;
    const eSims = 2_000_000;
    const rateLimit = 10;
    say(`## Any size: ${eSims.toLocaleString('en-US')} eSIMs, the API allows ${rateLimit} requests/s, invocations of 720 s (time compressed ${compression}×)`);
    say();
    say(`Run here with ${(eSims / compression).toLocaleString('en-US')} eSIMs and invocations of ${720 / compression} s; the full-size columns multiply requests and wall time by ${compression}.`);
    say();
    say('| page size | page size used | invocations | requests | answered 429 | wall time | full size: requests | full size: wall time |');
    say('|---|---|---|---|---|---|---|---|');
    for (const pageSize of [100, 'auto'] as const) {
      const api = await startSandbox(['--size', String(eSims / compression), '--latency', '50', '--rate-limit', String(rateLimit), '--cache-pages', '--timeline']);
      const out = await mkdtemp(path.join(SCRATCH, 'esim-bench-'));
      cleanup.push(out);
      const result = await exportSteps({ apiBaseUrl: api.url, out, pageSize, maxRunSeconds: 720 / compression });
      const stats = await api.stats();
      api.stop();
      const throttled = stats.byStatus[429] ?? 0;
      say(
        `| ${pageSize} | ${result.pageSize} | ${result.invocations} | ${stats.requests.toLocaleString('en-US')} | ${throttled.toLocaleString('en-US')} | ` +
          `${seconds(result.wallMs)} | ${(stats.requests * compression).toLocaleString('en-US')} | ${((result.wallMs * compression) / 60_000).toFixed(0)} min |`,
      );
    }
    say();
  }

  // 7. Change sets: a day later, with and without, at 1,000,000 and 10,000,000 eSIMs.
  for (const line of await changeSetRows(process.env.BENCH_CHANGE_SIZES ? process.env.BENCH_CHANGE_SIZES.split(',').map(Number) : [1_000_000, 10_000_000], cleanup)) say(line);

  // 8. The set of ICCIDs seen, at 10,000,000 eSIMs: why it is a compact table (lambda/core/harvest/iccid-set.ts).
  for (const line of await iccidSetRows()) say(line);

  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const header = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu}, ` +
      `${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node.js ${process.version}, ${os.platform()} ${os.release()}.`,
    'The sandbox and each export run in separate processes on the same machine; exports write to a RAM folder',
    '(/dev/shm) so disk speed does not blur the figures. For the latency and concurrency rows the sandbox answers from pages',
    'it has already rendered (an unmeasured export renders them first): a remote API\'s own work does not run on the exporting',
    'machine. Rows are medians of three runs (the single-request row: one run). Wall time is the export alone',
    "(process start excluded), peak RSS is the export process's own; exports run with plain `node`, no V8 flags, as `npx esim-export` does.",
    'Rows fix the page size at the documented 100 (what they measure is the cost per page) unless they say `auto`, the default,',
    'which asks for pages of 1,000 (the sandbox honours them). The host is shared: the same row taken at another hour can differ by',
    '25%: compare rows taken in one run.',
    '',
  ];
  await writeFile(path.join(ROOT, 'BENCHMARKS.md'), `${[...header, ...lines].join('\n')}\n`);
  console.log('Wrote BENCHMARKS.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
