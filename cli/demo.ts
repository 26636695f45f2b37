/**
 * `npm start`: the whole product in one command, with no credentials and no AWS.
 * Starts the built-in sandbox API, runs a real export against it into ./exports with the same
 * CLI a user runs, and says where the files are and what they hold. The sandbox's inventory
 * moves on a little every day (from 2026-01-01), so `npm start -- --date 2026-11-27` after
 * `npm start -- --date 2026-11-26` shows what changed; other flags go to the export as they are.
 */
import { startSandbox, SANDBOX_API_KEY, SANDBOX_USER_ID } from '../sandbox/server';
import { runCli } from './run-cli';

/** The sandbox's inventory is this day's: days since 2026-01-01 of the --date given, or of today. */
function inventoryDay(args: readonly string[]): number {
  const at = args.indexOf('--date');
  const date = at >= 0 ? args[at + 1] : new Date().toISOString().slice(0, 10);
  const days = Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse('2026-01-01T00:00:00Z')) / 86_400_000);
  return Number.isFinite(days) ? Math.max(0, days) : 0;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // A modest inventory with both item shapes, a little latency, and a few injected 429s and
  // 5xx answers, so the demo also shows the export riding them out.
  const sandbox = await startSandbox({
    size: 2_500,
    shape: 'mixed',
    latencyMs: 15,
    faults: { throttle: 0.03, serverError: 0.03, retryAfterSeconds: 1 },
    day: inventoryDay(args),
  });
  process.stderr.write(`Sandbox API listening at ${sandbox.apiBaseUrl} (2,500 eSIMs, both item shapes, some injected 429/5xx)\n\n`);
  try {
    const status = await runCli(['--api-url', sandbox.apiBaseUrl, '--out', './exports', ...args], {
      env: { ...process.env, BETATEL_API_KEY: SANDBOX_API_KEY, BETATEL_USER_ID: SANDBOX_USER_ID },
      stdout: process.stdout,
      stderr: process.stderr,
    });
    if (status === 0) {
      process.stdout.write(
        [
          '',
          'Look inside:',
          '  zcat exports/csv/dt=*/esims.csv.gz | head -5',
          '  zcat exports/ndjson/dt=*/esims.ndjson.gz | head -2',
          '  cat exports/latest.json',
          '',
          'Next: `npm test`, then README.md "Deploy" to run it daily in your AWS account.',
          '',
        ].join('\n'),
      );
    }
    return status;
  } finally {
    await sandbox.close();
  }
}

main().then((status) => {
  process.exitCode = status;
});
