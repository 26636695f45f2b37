/**
 * What every stage of an export is given: the destination, the credentials, the caller's
 * signal and observer, and the knobs tests shorten. The run itself (begin, invocations, publish,
 * discard, and ExportRun, a whole run's input) is run/lifecycle.ts; the manifest is manifest.ts.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Credentials } from './api/betatel-client';
import type { Destination } from './destinations';
import { DEFAULT_RETRY_POLICY, type RetryEvent, type RetryPolicy } from './api/retry';

/** Knobs that are not user settings: the defaults suit production; tests shorten them. */
export interface Tuning {
  /** Per request: connect, headers and body each must arrive within this. */
  readonly requestTimeoutMs: number;
  readonly retryPolicy: RetryPolicy;
  /** Passes over the inventory when it moves while we read it. */
  readonly maxPasses: number;
  /** The change set's comparison: the most previous records held in memory at once, and where it spills the rest (changes/diff.ts). */
  readonly comparison: { readonly bucketRecords: number; readonly workDir: string };
}

export const DEFAULT_TUNING: Tuning = {
  requestTimeoutMs: 30_000,
  retryPolicy: DEFAULT_RETRY_POLICY,
  maxPasses: 3,
  comparison: { bucketRecords: 100_000, workDir: path.join(tmpdir(), 'esim-export-work') },
};

export interface ExportProgress {
  readonly pass: number;
  readonly records: number;
  readonly total: number | undefined;
  readonly requests: number;
  readonly retries: number;
}

/** What the caller hears while the export runs. All optional. */
export interface ExportObserver {
  onProgress?(progress: ExportProgress): void;
  onRetry?(event: RetryEvent & { offset: number }): void;
  onPageSize?(pageSize: number, reason: string): void;
}

/** What every step needs besides the run's own state. */
export interface ExportContext {
  readonly destination: Destination;
  readonly credentials: Credentials;
  /** Where the credentials came from, named in a 401 message (never their values). */
  readonly credentialsSource: string;
  /** Aborting stops the run at once; nothing is published. A reason that is an Error is rethrown. */
  readonly signal?: AbortSignal;
  readonly tuning?: Partial<Tuning>;
  readonly observer?: ExportObserver;
}
