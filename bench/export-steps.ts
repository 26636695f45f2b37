/**
 * One export run step by step, as the state machine runs it (lambda/steps.ts: begin, export
 * until done, publish), in this process and into a folder: for the benchmark's long-export row.
 * Each export step stops after `maxRunSeconds`, as an invocation does. Prints one JSON line.
 */
import { FolderDestination } from '../lambda/core/destinations';
import { exportSettings, type PageSize } from '../lambda/core/settings';
import { runStep, type StepResult } from '../lambda/steps';
import { SANDBOX_API_KEY, SANDBOX_USER_ID } from '../sandbox/server';

export interface ExportStepsInput {
  apiBaseUrl: string;
  out: string;
  pageSize: PageSize;
  maxRunSeconds: number;
}

export interface ExportStepsResult {
  wallMs: number;
  invocations: number;
  records: number;
  pageSize: number;
  requests: number;
  retries: number;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]!) as ExportStepsInput;
  const started = performance.now();
  const deps = () => ({
    context: { destination: new FolderDestination(input.out) },
    settingsFor: () => exportSettings({ apiBaseUrl: input.apiBaseUrl, pageSize: input.pageSize, snapshotDate: '2026-11-27' }),
    credentials: async () => ({ credentials: { apiKey: SANDBOX_API_KEY, userId: SANDBOX_USER_ID }, credentialsSource: 'the benchmark' }),
    stopAt: Date.now() + input.maxRunSeconds * 1000,
    holder: 'the benchmark',
  });
  let step = (await runStep({ step: 'begin', input: {} }, deps())) as { result: StepResult };
  while (!step.result.done) step = (await runStep({ step: 'export', run: step.result.run }, deps())) as { result: StepResult };
  const published = await runStep({ step: 'publish', run: step.result.run }, deps());
  const manifest = 'manifest' in published ? published.manifest! : undefined;
  const result: ExportStepsResult = {
    wallMs: performance.now() - started,
    invocations: step.result.invocations,
    records: manifest?.records ?? 0,
    pageSize: manifest?.source.page_size ?? 0,
    requests: manifest?.requests ?? 0,
    retries: manifest?.retries ?? 0,
  };
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
