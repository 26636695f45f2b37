/**
 * The sandbox's faults: which request fails and how. Scripted (`sequence`, one per list request
 * in order) or at random with the given probabilities, never more than `maxPerPage` times in a
 * row for one page, so an export with retries always gets through.
 */
import type { ServerResponse } from 'node:http';

/**
 * hang: never answers. drop: closes the connection before answering. throttle: 429. serverError:
 * 502/503 with an HTML body. truncate: half a body, framed as complete. cut: half a body with no
 * length, then the connection drops. endless: a body that never ends.
 */
export type FaultKind = 'hang' | 'drop' | 'throttle' | 'serverError' | 'truncate' | 'cut' | 'endless';

export interface FaultOptions {
  /** Faults for the first list requests, in order (undefined: none), before any chosen at random. */
  readonly sequence?: readonly (FaultKind | undefined)[];
  /** Probability per request of each failure. */
  readonly throttle?: number;
  readonly serverError?: number;
  readonly drop?: number;
  readonly hang?: number;
  readonly truncate?: number;
  /** Failures in a row for one page before it is answered properly. @default 2 */
  readonly maxPerPage?: number;
  /** Retry-After sent with injected 429s, in seconds. @default 1 */
  readonly retryAfterSeconds?: number;
}

const RANDOM_KINDS = ['hang', 'drop', 'throttle', 'serverError', 'truncate'] as const;

export class FaultPlan {
  private requests = 0;
  private readonly byPage = new Map<string, number>();

  constructor(
    private readonly faults: FaultOptions,
    private readonly chance: () => number,
  ) {}

  /** Decides whether this attempt at a page fails, and how. */
  next(pageKey: string): FaultKind | undefined {
    const { faults } = this;
    const scripted = faults.sequence?.[this.requests++];
    if (scripted) return scripted;
    if (faults.sequence && this.requests <= faults.sequence.length) return undefined;
    if ((this.byPage.get(pageKey) ?? 0) >= (faults.maxPerPage ?? 2)) return undefined;
    for (const kind of RANDOM_KINDS) {
      if ((faults[kind] ?? 0) > 0 && this.chance() < faults[kind]!) {
        this.byPage.set(pageKey, (this.byPage.get(pageKey) ?? 0) + 1);
        return kind;
      }
    }
    this.byPage.delete(pageKey);
    return undefined;
  }
}

/** Half the body, chunked (no length), then the connection drops. */
export function sendCut(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
}

/** A body that never ends: chunks for as long as the client keeps reading. */
export function sendEndless(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.from('"x",'.repeat(16_000));
  const more = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', more);
  };
  res.write('{"total":1,"sims":[');
  more();
}
