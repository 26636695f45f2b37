/**
 * `npm run bench`: speed, memory and cost of real exports against the sandbox, side by side
 * in one run. The sandbox and each export run in their own Node.js processes (bundled with
 * esbuild first, as the Lambda is), so neither steals the other's event loop and each
 * export's peak RSS is its own. Prints a table and writes BENCHMARKS.md.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { DEFAULT_CONCURRENCY, type Format } from '../lambda/core/settings';
import { type SandboxStats, STATS_PATH } from '../sandbox/server';
import type { ExportOnceInput, ExportOnceResult } from './export-once';
import type { ExportStepsInput, ExportStepsResult } from './export-steps';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'bench', 'out');
const run = promisify(execFile);

/** The stack's memory size (lib/esim-export-stack.ts default) and the published ARM price. */
const LAMBDA_MEMORY_MB = 1024;
const ARM_PRICE_PER_GB_SECOND = 0.0000133334; // us-east-1, first 7.5 billion GB-s a month
const PRICE_PER_REQUEST = 0.0000002;

interface Sandbox {
  url: string;
  stats(): Promise<SandboxStats>;
  stop(): void;
}

async function startSandbox(args: string[]): Promise<Sandbox> {
  const child: ChildProcess = spawn(process.execPath, [path.join(OUT, 'sandbox.js'), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk) => {
      text += chunk;
      const match = /Sandbox API at (\S+)/.exec(text);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error(`sandbox exited: ${text}`)));
  });
  const origin = new URL(url).origin;
  return {
    url,
    stats: async () => (await (await fetch(`${origin}${STATS_PATH}`)).json()) as SandboxStats,
    stop: () => child.kill(),
  };
}

/** Exports go to a RAM folder where there is one, so the disk's speed does not blur the figures. */
const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

type ExportRun = ExportOnceResult & { out: string };

async function exportOnce(
  apiBaseUrl: string,
  options: Pick<ExportOnceInput, 'concurrency' | 'formats'> = {},
  nodeFlags: string[] = [],
): Promise<ExportRun> {
  const out = await mkdtemp(path.join(SCRATCH, 'esim-bench-'));
  const input: ExportOnceInput = { apiBaseUrl, out, ...options };
  const { stdout } = await run(process.execPath, [...nodeFlags, path.join(OUT, 'export-once.js'), JSON.stringify(input)], {
    maxBuffer: 1 << 24,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return { ...(JSON.parse(stdout.trim().split('\n').pop()!) as ExportOnceResult), out };
}

async function exportSteps(input: ExportStepsInput): Promise<ExportStepsResult> {
  const { stdout } = await run(process.execPath, [path.join(OUT, 'export-steps.js'), JSON.stringify(input)], {
    maxBuffer: 1 << 24,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ExportStepsResult;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  await build({
    entryPoints: {
      sandbox: path.join(ROOT, 'sandbox/main.ts'),
      'export-once': path.join(ROOT, 'bench/export-once.ts'),
      'export-steps': path.join(ROOT, 'bench/export-steps.ts'),
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
  const formatSets: Array<[string, Format[]]> = [['ndjson, csv', ['ndjson', 'csv']], ['ndjson, csv, parquet (default)', ['ndjson', 'csv', 'parquet']]];

  // 1. The export's own time against the floor pages × latency ÷ concurrency, at a realistic
  // latency (50 ms a page), default settings: the API, not the CPU, should be the limit.
  {
    const apiSize = 100_000;
    const apiLatencyMs = 50;
    const apiPages = apiSize / 100;
    const api = await startSandbox(['--size', String(apiSize), '--latency', String(apiLatencyMs), '--cache-pages']);
    cleanup.push((await exportOnce(api.url)).out);
    const floor = (apiPages * apiLatencyMs) / DEFAULT_CONCURRENCY;
    say(`## Default settings: ${apiSize.toLocaleString('en-US')} eSIMs, ${apiLatencyMs} ms per request (${apiPages} pages)`);
    say();
    say('| formats | wall time | floor (pages × latency ÷ concurrency) | × floor | CPU time | peak RSS |');
    say('|---|---|---|---|---|---|');
    for (const [label, formats] of formatSets) {
      const results: ExportRun[] = [];
      for (let i = 0; i < 3; i++) results.push(await exportOnce(api.url, { formats }));
      cleanup.push(...results.map((r) => r.out));
      const wall = median(results.map((r) => r.wallMs));
      const cpu = median(results.map((r) => r.cpuMs));
      const rss = median(results.map((r) => r.maxRssMb));
      say(`| ${label} | ${seconds(wall)} | ${seconds(floor)} | ${(wall / floor).toFixed(2)} | ${seconds(cpu)} | ${rss.toFixed(0)} MB |`);
    }
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
  const rows: Array<[string, number]> = [['1', 1], ['2', 2], ['4', 4], ['8', 8], ['16', 16], [`default (${DEFAULT_CONCURRENCY})`, DEFAULT_CONCURRENCY]];
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
  say('## Peak memory (RSS of the export process), default settings, no latency');
  say();
  say('| formats | eSIMs | peak RSS | wall time | eSIMs/s |');
  say('|---|---|---|---|---|');
  const ratios: string[] = [];
  for (const [label, formats] of formatSets) {
    const peaks: number[] = [];
    for (const count of [100_000, 1_000_000]) {
      sandbox = await startSandbox(['--size', String(count)]);
      const results: ExportRun[] = [];
      for (let i = 0; i < 3; i++) results.push(await exportOnce(sandbox.url, { formats }));
      cleanup.push(...results.map((r) => r.out));
      sandbox.stop();
      // The run with the median peak: a peak is a maximum, and one busy moment moves it.
      const result = results.sort((a, b) => a.maxRssMb - b.maxRssMb)[1]!;
      peaks.push(result.maxRssMb);
      say(
        `| ${label} | ${count.toLocaleString('en-US')} | ${result.maxRssMb.toFixed(0)} MB | ${seconds(result.wallMs)} | ` +
          `${Math.round(result.records / (result.wallMs / 1000)).toLocaleString('en-US')} |`,
      );
    }
    ratios.push(`${label}: ${(peaks[1]! / peaks[0]!).toFixed(2)}×`);
  }
  say();
  say(`1,000,000 ÷ 100,000 peak: ${ratios.join('; ')}`);
  say();
  // What the export keeps alive does not grow with the inventory: most of the growth above is
  // V8 giving its heap room to spare. Capped, the same export runs in a small, fixed heap.
  {
    sandbox = await startSandbox(['--size', '1000000']);
    const capped = await exportOnce(sandbox.url, {}, ['--max-old-space-size=64']);
    cleanup.push(capped.out);
    sandbox.stop();
    say(
      `With V8's old space capped at 64 MB (\`node --max-old-space-size=64\`), the default 1,000,000-eSIM export ` +
        `completes with a peak RSS of ${capped.maxRssMb.toFixed(0)} MB in ${seconds(capped.wallMs)}: what it keeps alive does not grow with the inventory.`,
    );
    say();
  }

  // 4. Lambda cost per 100,000 eSIMs at the stack's memory size, 20 ms per request.
  say(`## Lambda cost per 100,000 eSIMs (${LAMBDA_MEMORY_MB} MB, ARM, ${latencyMs} ms per request, median of 3)`);
  say();
  say('| formats | duration | peak RSS | GB-seconds | cost |');
  say('|---|---|---|---|---|');
  sandbox = await startSandbox(['--size', '100000', '--latency', String(latencyMs), '--cache-pages']);
  cleanup.push((await exportOnce(sandbox.url)).out);
  for (const [label, formats] of formatSets) {
    const results: ExportRun[] = [];
    for (let i = 0; i < 3; i++) results.push(await exportOnce(sandbox.url, { formats }));
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
    'Rows 1-5 fix the page size at the documented 100 (what they measure is the cost per page); the last row compares it with `auto`.',
    '',
  ];
  await writeFile(path.join(ROOT, 'BENCHMARKS.md'), `${[...header, ...lines].join('\n')}\n`);
  console.log('Wrote BENCHMARKS.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
