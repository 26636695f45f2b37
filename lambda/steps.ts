/**
 * The state machine's steps, each one invocation of the function (SPEC.md, "The Lambda and the
 * state machine"), each a call into the one run lifecycle (core/run/lifecycle.ts):
 *
 *   begin ──► export ──► (done?) ──no──► export … ──yes──► publish ──► announce
 *     │          │                                            │           ▲
 *     └──────────┴──────── any failure ──► cleanup ──(had the publication committed?)──yes
 *                                              └──no──► fail
 *
 * The payload between steps is small (`StepResult`): the run's id, scope and day, and how far
 * it got. The checkpoint itself, with the ICCIDs seen, stays in the bucket (core/run/store.ts).
 */
import { z } from 'zod';
import { beginStagedRun, ConfigError, continueRun, discardRun, type ExportContext, type ExportSettings, type Manifest, publishRun, type RunCheckpoint, SCOPE_PATTERN, stagedRun } from './core';

const STEPS = ['begin', 'export', 'publish', 'announce', 'cleanup'] as const;

const runRef = z.object({
  id: z.uuid(),
  // The scope a run was written under: '' or filtered/company=…/inventory=… (layout.ts).
  scope: z.string().regex(SCOPE_PATTERN),
  // The snapshot's day, so a retried Publish can find the manifest its first attempt wrote.
  snapshot_date: z.iso.date(),
});
export type RunRef = z.infer<typeof runRef>;

const stepEvent = z.discriminatedUnion('step', [
  z.object({ step: z.literal('begin'), input: z.unknown().optional(), holder: z.string().max(500).optional() }),
  z.object({ step: z.enum(['export', 'publish', 'cleanup']), run: runRef }).loose(),
  // lastTry: the state machine's retries are spent; a failure is reported, not thrown.
  z.object({ step: z.literal('announce'), run: runRef, lastTry: z.boolean().optional() }).loose(),
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

export type StepOutcome =
  | { readonly result: StepResult; readonly manifest?: Manifest }
  | { readonly cleaned: RunRef; readonly published: boolean }
  | { readonly announce: RunRef; readonly lastTry: boolean };

export async function runStep(event: StepEvent, deps: StepDeps): Promise<StepOutcome> {
  const { destination } = deps.context;
  if (event.step === 'begin') {
    const settings = deps.settingsFor(event.input ?? {});
    await deps.credentials(); // a missing or placeholder secret fails here, before anything is written
    // A Begin retried for the same execution (its first answer lost) finds its own lock.
    const { checkpoint, store } = await beginStagedRun(destination, settings, event.holder ?? deps.holder, { sameHolderIsUs: event.holder !== undefined });
    return { result: resultOf(store, checkpoint) };
  }
  if (event.step === 'announce') return { announce: event.run, lastTry: event.lastTry ?? false };
  const store = stagedRun(destination, event.run.scope, event.run.id);
  if (event.step === 'cleanup') {
    const published = await discardRun(store, event.run.snapshot_date);
    return { cleaned: event.run, published: published !== undefined };
  }
  if (event.step === 'publish') {
    const manifest = await publishRun(store, { snapshotDate: event.run.snapshot_date, announce: true, signal: deps.context.signal, tuning: deps.context.tuning });
    return { result: { run: event.run, done: true, records: manifest.records, api_total: manifest.api_total, invocations: manifest.invocations }, manifest };
  }
  const next = await continueRun({ ...deps.context, ...(await deps.credentials()) }, store, deps.stopAt);
  return { result: resultOf(store, next) };
}

function resultOf(store: { readonly runId: string; readonly scope: string }, checkpoint: RunCheckpoint): StepResult {
  return {
    run: { id: store.runId, scope: store.scope, snapshot_date: checkpoint.settings.snapshotDate },
    done: checkpoint.harvest.summary !== undefined,
    records: checkpoint.harvest.records,
    api_total: checkpoint.harvest.summary?.apiTotal ?? checkpoint.harvest.total ?? null,
    invocations: checkpoint.invocations,
  };
}
