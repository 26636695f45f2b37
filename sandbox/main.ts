/**
 * `npm run sandbox -- [flags]`: serves the simulated Betatel list endpoint until Ctrl-C.
 */
import { Command } from 'commander';
import { startSandbox, SANDBOX_API_KEY, SANDBOX_USER_ID } from './server';

const number = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
};

const flags = new Command('sandbox')
  .description('Serve a simulated Betatel eSIM list API (GET /api/v1/esim/sim-registries).')
  .option('--port <n>', 'port to listen on (0: any free port)', number, 4010)
  .option('--size <n>', 'eSIMs in the inventory', number, 1000)
  .option('--seed <n>', 'seed of the deterministic inventory', number, 1)
  .option('--shape <shape>', 'item shape: documented, partial or mixed', 'mixed')
  .option('--big-numbers', 'add integers beyond 2^53 to some items')
  .option('--day <n>', 'the inventory this many days later: ~1% of eSIMs replaced and ~2% changed a day', number, 0)
  .option('--schema-change-day <n>', 'from this --day on, items come in a changed schema: a field added (network), one gone (mapped_imsi), one of another type (provisioned_date as text)', number)
  .option('--latency <ms>', 'delay before each answer', number, 0)
  .option('--max-page-size <n>', 'answer at most this many items per page, whatever count asks (a silent cap)', number)
  .option('--max-count <n>', 'the largest count accepted; above it, 400 (default 1000)', number)
  .option('--rate-limit <n>', 'requests per second allowed; beyond it 429 with Retry-After', number)
  .option('--throttle <p>', 'probability of an injected 429 per request', number, 0)
  .option('--server-errors <p>', 'probability of an injected 502/503 (HTML body) per request', number, 0)
  .option('--drops <p>', 'probability of a dropped connection per request', number, 0)
  .option('--hangs <p>', 'probability of a request that is never answered', number, 0)
  .option('--drift <every,add,remove,steps>', 'change the inventory while it is read, e.g. 5,3,2,4')
  .option('--down', 'answer everything 503')
  .option('--timeline', 'record when each request was answered (GET /_sandbox/stats)')
  .option('--cache-pages', 'answer repeated page requests from memory (benchmarks)')
  .parse()
  .opts();

async function main(): Promise<void> {
  const [everyRequests, add, remove, steps] = typeof flags.drift === 'string' ? flags.drift.split(',').map(number) : [];
  const sandbox = await startSandbox({
    port: flags.port,
    size: flags.size,
    seed: flags.seed,
    shape: flags.shape,
    bigNumbers: Boolean(flags.bigNumbers),
    day: flags.day,
    schemaChangeDay: flags.schemaChangeDay,
    latencyMs: flags.latency,
    maxPageSize: flags.maxPageSize,
    maxCount: flags.maxCount,
    rateLimit: flags.rateLimit,
    faults: { throttle: flags.throttle, serverError: flags.serverErrors, drop: flags.drops, hang: flags.hangs },
    drift: everyRequests ? { everyRequests, add: add ?? 0, remove: remove ?? 0, steps: steps ?? 1 } : undefined,
    down: Boolean(flags.down),
    timeline: Boolean(flags.timeline),
    cachePages: Boolean(flags.cachePages),
  });
  console.log(`Sandbox API at ${sandbox.apiBaseUrl} with ${flags.size} eSIMs. Export from it with:\n`);
  console.log(`  BETATEL_API_KEY=${SANDBOX_API_KEY} BETATEL_USER_ID=${SANDBOX_USER_ID} npm run export -- --api-url ${sandbox.apiBaseUrl}\n`);
  console.log('Ctrl-C to stop.');
  const stop = (): void => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`sandbox: ${(error as Error).message}`);
  process.exitCode = 1;
});
