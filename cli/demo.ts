/**
 * `npm start`: the whole product in one command, with no credentials and no AWS.
 * Starts the built-in sandbox API, runs a real export against it into ./exports with the same
 * CLI a user runs, and says where the files are and what they hold. The sandbox's inventory
 * moves on a little every day (from 2026-01-01). Into a folder with no snapshot yet, and with no
 * --date, it exports yesterday first, then today: the first run already shows a change set and
 * a history of two days. Other flags go to the export as they are.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startSandbox, SANDBOX_API_KEY, SANDBOX_USER_ID } from '../sandbox/server';
import { runCli } from './run-cli';

/** The sandbox's inventory of a day: days since 2026-01-01. */
const inventoryDay = (date: string): number => Math.max(0, Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse('2026-01-01T00:00:00Z')) / 86_400_000) || 0);

const flag = (args: readonly string[], name: string): string | undefined => {
  const at = args.lastIndexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};

/** One export of `date`'s inventory; the CLI's exit status. */
async function exportDay(args: readonly string[], date: string): Promise<number> {
  // A modest inventory with both item shapes, a little latency, and a few injected 429s and
  // 5xx answers, so the demo also shows the export riding them out.
  const sandbox = await startSandbox({
    size: 2_500,
    shape: 'mixed',
    latencyMs: 15,
    faults: { throttle: 0.03, serverError: 0.03, retryAfterSeconds: 1 },
    day: inventoryDay(date),
  });
  process.stderr.write(`Sandbox API listening at ${sandbox.apiBaseUrl} (2,500 eSIMs as of ${date}, both item shapes, some injected 429/5xx)\n\n`);
  try {
    return await runCli(['--api-url', sandbox.apiBaseUrl, '--out', './exports', ...args], {
      env: { ...process.env, BETATEL_API_KEY: SANDBOX_API_KEY, BETATEL_USER_ID: SANDBOX_USER_ID },
      stdout: process.stdout,
      stderr: process.stderr,
    });
  } finally {
    await sandbox.close();
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const today = new Date().toISOString().slice(0, 10);
  const out = flag(args, '--out') ?? './exports';
  if (flag(args, '--date') === undefined && !existsSync(path.join(out, 'latest.json'))) {
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const status = await exportDay([...args, '--date', yesterday], yesterday);
    if (status !== 0) return status;
    process.stdout.write('\n');
  }
  const status = await exportDay(args, flag(args, '--date') ?? today);
  if (status === 0) {
    process.stdout.write(
      [
        '',
        'Look inside:',
        `  zcat ${out}/csv/dt=*/esims.csv.gz | head -5`,
        `  cat ${out}/latest.json`,
        '',
        'Next: `npm test`, then README.md "Deploy to AWS" to run it daily in your AWS account.',
        '',
      ].join('\n'),
    );
  }
  return status;
}

main().then((status) => {
  process.exitCode = status;
});
