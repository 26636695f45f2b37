/**
 * The processes a benchmark runs: the sandbox, and one export in its own Node.js process (so
 * its wall time, CPU and peak RSS are its own). Built by bench/run.ts into bench/out first.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type SandboxStats, STATS_PATH } from '../sandbox/server';
import type { ExportOnceInput, ExportOnceResult } from './export-once';
import type { ExportStepsInput, ExportStepsResult } from './export-steps';

export const OUT = path.join(__dirname, 'out');
export const run = promisify(execFile);

export interface Sandbox {
  url: string;
  stats(): Promise<SandboxStats>;
  stop(): void;
}

export async function startSandbox(args: string[]): Promise<Sandbox> {
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
export const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

export type ExportRun = ExportOnceResult & { out: string };

export async function exportOnce(
  apiBaseUrl: string,
  options: Pick<ExportOnceInput, 'concurrency' | 'formats' | 'pageSize' | 'snapshotDate' | 'changeSet'> & { out?: string; oneCore?: boolean } = {},
  nodeFlags: string[] = [],
): Promise<ExportRun> {
  const { out = await mkdtemp(path.join(SCRATCH, 'esim-bench-')), oneCore = false, ...settings } = options;
  const input: ExportOnceInput = { apiBaseUrl, out, ...settings };
  // One core, as a Lambda of 1,024 MB has about 0.6 of one: taskset pins the export process.
  const [command, ...prefix] = oneCore ? ['taskset', '-c', '0', process.execPath] : [process.execPath];
  const { stdout } = await run(command!, [...prefix, ...nodeFlags, path.join(OUT, 'export-once.js'), JSON.stringify(input)], {
    maxBuffer: 1 << 24,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return { ...(JSON.parse(stdout.trim().split('\n').pop()!) as ExportOnceResult), out };
}

export async function exportSteps(input: ExportStepsInput): Promise<ExportStepsResult> {
  const { stdout } = await run(process.execPath, [path.join(OUT, 'export-steps.js'), JSON.stringify(input)], {
    maxBuffer: 1 << 24,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ExportStepsResult;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
