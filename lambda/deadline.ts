/**
 * The function's two stops: the soft one, where an export step hands over to the next
 * invocation (MAX_RUN_SECONDS, or Lambda's time left less HANDOVER_MS), and the hard one,
 * STOP_BEFORE_TIMEOUT_MS before Lambda would kill it. And what a direct invocation that does
 * not fit says: which state machine to start instead.
 */
import type { Context } from 'aws-lambda';
import type { FunctionConfig } from './config';
import { ExportAbortedError, type ExportProgress, type RunCheckpoint } from './core';

/** Leaves time to abort the uploads and report before Lambda's own time limit. */
const STOP_BEFORE_TIMEOUT_MS = 30_000;
/** Time an export step keeps, after it stops reading, to finish its files and save the checkpoint. */
const HANDOVER_MS = 90_000;

/** Epoch ms: when an invocation that started at `startedAt` hands over. */
export const softStop = (startedAt: number, context: Context, config: FunctionConfig): number =>
  startedAt + Math.min(config.maxRunSeconds * 1000, context.getRemainingTimeInMillis() - HANDOVER_MS);

/** The hard stop: aborts STOP_BEFORE_TIMEOUT_MS before Lambda's time limit, saying how far it got. */
export function hardStop(context: Context, seen: { progress?: ExportProgress }): { signal: AbortSignal; timer: NodeJS.Timeout } {
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    const { progress } = seen;
    const done = progress ? `${progress.records.toLocaleString('en-US')} of ${progress.total?.toLocaleString('en-US') ?? '?'} eSIMs` : 'no eSIMs';
    deadline.abort(new ExportAbortedError(`stopped ${STOP_BEFORE_TIMEOUT_MS / 1000} s before the Lambda time limit with ${done} read; nothing was published.`));
  }, Math.max(0, context.getRemainingTimeInMillis() - STOP_BEFORE_TIMEOUT_MS));
  return { signal: deadline.signal, timer };
}

/** A direct invocation's export that did not fit: how far it got, and the state machine to start instead. */
export function tooLong(context: Context, config: FunctionConfig): (checkpoint: RunCheckpoint) => ExportAbortedError {
  return ({ harvest: { records, total } }) => {
    const count = (n: number): string => n.toLocaleString('en-US');
    // Every eSIM can be read while the run still has work left (another pass to reconcile a
    // changing inventory): say that, not "20,000 of 20,000 read".
    const progress =
      total !== undefined && records >= total ? `all ${count(total)} eSIMs read, but not reconciled and written` : `${count(records)} of ${total === undefined ? '?' : count(total)} eSIMs read`;
    return new ExportAbortedError(
      `this export does not fit one invocation (${progress} in ${config.maxRunSeconds} s); nothing was published. ` +
        `Start the state machine ${stateMachineArn(context, config)} with the same input instead.`,
    );
  };
}

/** The state machine's ARN, from its name (the stack sets it) and this function's region and account. */
function stateMachineArn(context: Context, config: FunctionConfig): string {
  const [, partition, , region, account] = (context.invokedFunctionArn ?? '').split(':');
  if (!config.stateMachineName) return 'of this stack (see the stack output StateMachineName)';
  return partition && region && account ? `arn:${partition}:states:${region}:${account}:stateMachine:${config.stateMachineName}` : config.stateMachineName;
}
