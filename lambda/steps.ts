/**
 * The state machine's steps, each one invocation of the function (SPEC.md, "The Lambda and the
 * state machine"):
 *
 *   begin ──► export ──► (done?) ──no──► export … ──yes──► publish
 *     │          │                                            │
 *     └──────────┴──────── any failure ──► cleanup ──► fail ◄─┘
 *
 * The payload between steps is small (`StepResult`): the run's id and scope, and how far it
 * got. The checkpoint itself, with the ICCIDs seen, stays in the bucket (core/run-store.ts).
 */
import { z } from 'zod';
import { ConfigError } from './core/errors';
import { beginExport, continueExport, discardExport, type ExportContext, type Manifest, publishExport } from './core/export';
import { IccidSet } from './core/iccid-set';
import type { Destination } from './core/destinations';
import { manifestKey, runsLayout } from './core/layout';
import { type RunCheckpoint, RunStore } from './core/run-store';
import type { ExportSettings } from './core/settings';

export const STEPS = ['begin', 'export', 'publish', 'cleanup'] as const;

const runRef = z.object({
  id: z.uuid(),
  // The scope a run was written under: '' or filtered/company=…/inventory=… (layout.ts).
  scope: z.string().regex(/^(filtered(\/(company|inventory)=\d+)+|filtered\/unfiltered)?$/),
  // The snapshot's day, so a retried Publish can find the manifest its first attempt wrote.
  snapshot_date: z.iso.date().optional(),
});
export type RunRef = z.infer<typeof runRef>;

const stepEvent = z.discriminatedUnion('step', [
  z.object({ step: z.literal('begin'), input: z.unknown().optional(), holder: z.string().max(500).optional() }),
  z.object({ step: z.enum(['export', 'publish', 'cleanup']), run: runRef }).loose(),
]);
export type StepEvent = z.infer<typeof stepEvent>;

/** What a step hands to the next: small, whatever the export's size. */
export interface StepResult {
  readonly run: RunRef;
  readonly done: boolean;
  readonly records: number;
  readonly api_total: number | null;
  readonly invocations: number;
}

export const isStepEvent = (event: unknown): boolean =>
  typeof event === 'object' && event !== null && 'step' in event && STEPS.includes((event as { step: never }).step);

export function parseStepEvent(event: unknown): StepEvent {
  const parsed = stepEvent.safeParse(event);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ConfigError(`invalid step event: event.${issue.path.join('.')} ${issue.message}`);
}

export interface StepDeps {
  readonly context: Omit<ExportContext, 'credentials' | 'credentialsSource'>;
  readonly settingsFor: (input: unknown) => ExportSettings;
  /** Only the export step reads the API. */
  readonly credentials: () => Promise<Pick<ExportContext, 'credentials' | 'credentialsSource'>>;
  /** Epoch ms at which an export step hands over to the next. */
  readonly stopAt: number;
  readonly holder: string;
}

export type StepOutcome = { readonly result: StepResult; readonly manifest?: Manifest } | { readonly cleaned: RunRef };

export async function runStep(event: StepEvent, deps: StepDeps): Promise<StepOutcome> {
  const { destination } = deps.context;
  if (event.step === 'begin') {
    const settings = deps.settingsFor(event.input ?? {});
    await deps.credentials(); // a missing or placeholder secret fails here, before anything is written
    const { checkpoint, store } = await beginExport(deps.context, settings, event.holder ?? deps.holder);
    try {
      await store.save(checkpoint, new IccidSet());
    } catch (error) {
      await discardExport(store, error);
      throw error;
    }
    return { result: resultOf(checkpoint.run_id, store, checkpoint) };
  }
  const store = new RunStore(destination, runsLayout(event.run.scope), event.run.id);
  if (event.step === 'cleanup') {
    await store.clear();
    return { cleaned: event.run };
  }
  if (event.step === 'publish') {
    // Step Functions retries a Publish whose answer was lost (a Lambda service error). If the
    // first attempt published, the day's manifest is this run's: finish its cleanup and succeed.
    const published = await publishedBy(destination, event.run);
    if (published) {
      await store.clear();
      return { result: { run: event.run, done: true, records: published.records, api_total: published.api_total, invocations: published.invocations }, manifest: published };
    }
    const checkpoint = await store.loadCheckpoint();
    const manifest = await publishExport(deps.context, store, checkpoint);
    return { result: resultOf(event.run.id, store, checkpoint), manifest };
  }
  const { checkpoint, seen } = await store.load();
  await store.renew();
  const next = await continueExport({ ...deps.context, ...(await deps.credentials()) }, store, checkpoint, seen, deps.stopAt);
  await store.save(next, seen);
  return { result: resultOf(event.run.id, store, next) };
}

/** The day's manifest, if the run `run` published it. */
async function publishedBy(destination: Destination, run: RunRef): Promise<Manifest | undefined> {
  if (run.snapshot_date === undefined) return undefined;
  const stored = await destination.readDocument(manifestKey(run.scope, run.snapshot_date));
  const manifest = stored && (JSON.parse(stored.body.toString('utf8')) as Manifest);
  return manifest && manifest.run_id === run.id ? manifest : undefined;
}

function resultOf(id: string, store: RunStore, checkpoint: RunCheckpoint): StepResult {
  return {
    run: { id, scope: store.scope, snapshot_date: checkpoint.settings.snapshotDate },
    done: checkpoint.harvest.summary !== undefined,
    records: checkpoint.harvest.records,
    api_total: checkpoint.harvest.summary?.apiTotal ?? checkpoint.harvest.total ?? null,
    invocations: checkpoint.invocations,
  };
}
