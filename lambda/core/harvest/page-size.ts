/**
 * Page size `auto` (SPEC.md, "Talking to the API"): ask for MAX_PAGE_SIZE items a page and keep
 * the largest size the API honours. Under a per-request rate limit this is what multiplies
 * throughput: 1,000 items a request move ten times as many eSIMs as the documented 100.
 */
import type { BetatelClient } from '../api/betatel-client';
import type { Page } from '../api/page';
import { ApiBadRequestError, ApiBadResponseError, ApiUnavailableError } from '../errors';
import { DOCUMENTED_PAGE_SIZE, MAX_PAGE_SIZE } from '../endpoint';
import type { PageSize } from '../settings';

/** A large page gets one retry for a server error or a timeout, then counts as too large (the client's `serverFailures`). */
export const LARGE_PAGE_TRIES = { serverFailures: 2 } as const;

/** What a large page may fail with that the documented size may not: a 400, a bad or missing answer. */
export function isSizeFailure(error: unknown): error is Error {
  return error instanceof ApiBadRequestError || error instanceof ApiBadResponseError || error instanceof ApiUnavailableError;
}

/**
 * The page size to use. For `auto`: one request for MAX_PAGE_SIZE items. Whatever fails at that
 * size (a 400, a server error or timeout twice) falls back to the documented size, which must
 * then work; an API that answers fewer items than asked while more remain is followed at the
 * size it answers. (A large page that fails later in the run falls back too: harvest.ts.)
 */
export async function choosePageSize(
  client: BetatelClient,
  asked: PageSize,
  signal: AbortSignal,
  onPageSize?: (pageSize: number, reason: string) => void,
): Promise<{ pageSize: number; first?: Page }> {
  if (asked !== 'auto') return { pageSize: asked };
  try {
    // The probe is the first page of the listing: the harvest uses it, it is not fetched again.
    const first = await client.fetchPage({ offset: 0, count: MAX_PAGE_SIZE }, signal, LARGE_PAGE_TRIES);
    const capped = first.records.length < MAX_PAGE_SIZE && first.records.length < first.total;
    const pageSize = capped ? Math.max(1, first.records.length) : MAX_PAGE_SIZE;
    onPageSize?.(pageSize, capped ? `the API answers at most ${pageSize} items a page` : `the API answered ${MAX_PAGE_SIZE} items a page`);
    return { pageSize, first };
  } catch (error) {
    if (!isSizeFailure(error)) throw error;
    onPageSize?.(DOCUMENTED_PAGE_SIZE, `asking for ${MAX_PAGE_SIZE} items failed (${error.message.slice(0, 160)}); using the documented ${DOCUMENTED_PAGE_SIZE}`);
    return { pageSize: DOCUMENTED_PAGE_SIZE };
  }
}
