/**
 * Every way an export can fail, one class each, in one place.
 *
 * Each error carries a stable `code` (callers branch on it: the CLI maps it to an exit status,
 * the Lambda to a metric) and a message that is one line saying what failed and what to do.
 * Messages never contain a credential: anything the API sends back is passed through `redact`
 * before it is quoted.
 */

export type ExportErrorCode =
  | 'CONFIG'
  | 'CREDENTIALS'
  | 'API_UNAUTHORIZED'
  | 'API_BAD_REQUEST'
  | 'API_NOT_FOUND'
  | 'API_BAD_RESPONSE'
  | 'API_UNAVAILABLE'
  | 'DESTINATION'
  | 'BUSY'
  | 'LOCK_LOST'
  | 'SHRINK'
  | 'ANNOUNCEMENT'
  | 'ABORTED'
  | 'INTERNAL';

export class ExportError extends Error {
  public readonly code: ExportErrorCode;

  constructor(code: ExportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExportError';
    this.code = code;
  }
}

/** A setting, flag, environment variable or event field is invalid. The message names it. */
export class ConfigError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** Credentials are missing, malformed, or still the placeholder. */
export class CredentialsError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CREDENTIALS', message, options);
    this.name = 'CredentialsError';
  }
}

/** The API answered 401: the key or user id was rejected. */
export class ApiUnauthorizedError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('API_UNAUTHORIZED', message, options);
    this.name = 'ApiUnauthorizedError';
  }
}

/** The API answered 400: it rejected the parameters we sent. */
export class ApiBadRequestError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('API_BAD_REQUEST', message, options);
    this.name = 'ApiBadRequestError';
  }
}

/** The API answered 404: the URL does not point at the list endpoint. */
export class ApiNotFoundError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('API_NOT_FOUND', message, options);
    this.name = 'ApiNotFoundError';
  }
}

/** The API answered 200 with a body that is not the documented JSON. */
export class ApiBadResponseError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('API_BAD_RESPONSE', message, options);
    this.name = 'ApiBadResponseError';
  }
}

/** The API kept failing (5xx, 429, timeouts, dropped connections) past the retry budget. */
export class ApiUnavailableError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('API_UNAVAILABLE', message, options);
    this.name = 'ApiUnavailableError';
  }
}

/** Writing to the destination (folder or S3) failed. */
export class DestinationError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DESTINATION', message, options);
    this.name = 'DestinationError';
  }
}

/** Another export of the same scope holds the lock: two runs never interleave. */
export class ExportBusyError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BUSY', message, options);
    this.name = 'ExportBusyError';
  }
}

/** The run no longer holds its scope's lock (it expired and another run took it, or Clean up removed it): it publishes nothing more. */
export class LockLostError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOCK_LOST', message, options);
    this.name = 'LockLostError';
  }
}

/** The snapshot holds fewer eSIMs than the shrink guard allows: nothing is published. */
export class ShrinkError extends ExportError {
  constructor(message: string) {
    super('SHRINK', message);
    this.name = 'ShrinkError';
  }
}

/**
 * Publishing failed part way and undoing it failed too (an S3 error that lasts): the journal
 * and the backup it names are kept, and the next step or run finishes or undoes the change.
 */
export class RecoveryPendingError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DESTINATION', message, options);
    this.name = 'RecoveryPendingError';
  }
}

/** The snapshot is published, but its "Snapshot Published" event could not be put on the bus; it stays pending and is sent again. */
export class AnnouncementFailedError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ANNOUNCEMENT', message, options);
    this.name = 'AnnouncementFailedError';
  }
}

/** The run was stopped (a deadline such as the Lambda's time limit, or a signal). */
export class ExportAbortedError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ABORTED', message, options);
    this.name = 'ExportAbortedError';
  }
}

/** Anything we did not foresee: a bug to report, with the original error kept as `cause`. */
export class InternalError extends ExportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', `unexpected error: ${message}`, options);
    this.name = 'InternalError';
  }
}

/** Any run of this many characters of a secret is redacted: a server that echoes part of the key leaks nothing. */
const PART = 6;

/**
 * Redacts every occurrence of each secret in `text`, and every run of PART or more characters
 * taken from one (a server that echoes "key abcd-12… is invalid"); used on anything a server
 * sends back. Secrets shorter than 4 characters are left alone: they would mangle ordinary
 * words ("Unauthorized" holds every one-letter id) and protect nothing.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const hidden = new Uint8Array(text.length);
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    const part = Math.min(PART, secret.length);
    const pieces = new Set<string>();
    for (let i = 0; i + part <= secret.length; i++) pieces.add(secret.slice(i, i + part));
    for (let i = 0; i + part <= text.length; i++) if (pieces.has(text.slice(i, i + part))) hidden.fill(1, i, i + part);
  }
  let result = '';
  for (let i = 0; i < text.length; i++) {
    if (!hidden[i]) result += text[i];
    else if (!hidden[i - 1]) result += '[redacted]';
  }
  return result;
}

/** One line, at most `max` characters, printable: server bodies can be whole HTML pages, or hostile. */
export function oneLine(text: string, max = 200): string {
  // Terminal escapes and control characters from a server's body never reach the terminal.
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g, '').replace(/[\s\x00-\x1f\x7f-\x9f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Wraps anything that is not already an ExportError once, at the boundary, so callers always
 * get a code and a one-line message. File-system errors (they carry a `path`) are the
 * destination's; anything else is unexpected.
 */
export function asExportError(error: unknown): ExportError {
  if (error instanceof ExportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const { path } = (error ?? {}) as { path?: unknown };
  if (typeof path === 'string') return fileFailure('write', path, error);
  return new InternalError(message, { cause: error });
}

/** File-system failures in words a user acts on (ENOSPC is "the disk is full", not a code). */
const WHY: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EFBIG: 'the file is larger than this process may write (ulimit -f) or the file system holds',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a file is in the way of a folder',
  EISDIR: 'a folder is in the way of a file',
  EEXIST: 'something is already in the way',
};

export function fileFailure(action: string, where: string, error: unknown): DestinationError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const why = WHY[code] ?? (error as Error).message;
  return new DestinationError(`could not ${action} ${where}: ${why}${WHY[code] ? ` (${code})` : ''}. Nothing was published.`, { cause: error });
}

// Signals inside the API client (api/): how a request or a page failed. betatel-client.ts
// turns each into one of the failures above before anyone sees it.

/** The body was larger than MAX_BODY_BYTES (api/http-exchange.ts): not a network failure, and not worth a retry. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** A request had no answer within its time limit. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * A failure worth another attempt. `retryAfterMs` is the server's Retry-After, if it sent one;
 * `throttled` marks a 429, which also slows the whole export down.
 */
export class TransientError extends Error {
  constructor(
    message: string,
    public readonly retryAfterMs?: number,
    public readonly throttled = false,
  ) {
    super(message);
    this.name = 'TransientError';
  }
}

/** Retries ran out: `attempts` were made, and the API had not answered successfully for `quietMs`. */
export class GaveUp extends Error {
  constructor(
    public readonly last: TransientError,
    public readonly attempts: number,
    public readonly quietMs: number,
  ) {
    super(last.message);
    this.name = 'GaveUp';
  }
}

/** The body is not the documented JSON; the message says how, the caller adds which page. */
export class InvalidPageError extends Error {}
