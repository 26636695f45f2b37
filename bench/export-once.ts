/**
 * One export in this process, for the benchmark: prints one JSON line with the wall time of
 * the export and the process's peak memory (RSS). Runs bundled, with plain node.
 */
import { FolderDestination } from '../lambda/core/destinations';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { runExport } from '../lambda/core/run/lifecycle';
import type { Format } from '../lambda/core/formats/names';
import { defaultSettings, type PageSize } from '../lambda/core/settings';
import { SANDBOX_API_KEY, SANDBOX_USER_ID } from '../sandbox/server';

/** What bench/run.ts asks for (argv[2], as JSON)… */
export interface ExportOnceInput {
  apiBaseUrl: string;
  out: string;
  concurrency?: number;
  formats?: Format[];
  /** @default 100: these rows measure the export's own cost per page at the documented size. */
  pageSize?: PageSize;
  /** @default '2026-11-27' */
  snapshotDate?: string;
  /** @default true (the default): write the day's change set. */
  changeSet?: boolean;
}

/** …and what it hears back (the last line of stdout, as JSON). */
export type ExportOnceResult = Pick<Manifest, 'records' | 'requests' | 'retries' | 'files' | 'changes'> & {
  wallMs: number;
  maxRssMb: number;
  cpuMs: number;
  eventLoopBusy: number;
};

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]!) as ExportOnceInput;
  const started = performance.now();
  const loopBefore = performance.eventLoopUtilization();
  const manifest = await runExport({
    settings: {
      ...defaultSettings(input.snapshotDate ?? '2026-11-27'),
      ...(input.changeSet !== undefined && { changeSet: input.changeSet }),
      apiBaseUrl: input.apiBaseUrl,
      ...(input.concurrency !== undefined && { concurrency: input.concurrency }),
      ...(input.formats !== undefined && { formats: input.formats }),
      pageSize: input.pageSize ?? 100,
    },
    destination: new FolderDestination(input.out),
    credentials: { apiKey: SANDBOX_API_KEY, userId: SANDBOX_USER_ID },
    credentialsSource: 'the benchmark',
  });
  const wallMs = performance.now() - started;
  const result: ExportOnceResult = {
    wallMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    eventLoopBusy: performance.eventLoopUtilization(loopBefore).utilization,
    records: manifest.records,
    requests: manifest.requests,
    retries: manifest.retries,
    files: manifest.files,
    changes: manifest.changes,
  };
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
