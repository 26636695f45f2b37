/**
 * Page size `auto` (SPEC.md, "Talking to the API"): ask for MAX_PAGE_SIZE items a page and keep
 * the largest size the API honours. Under a per-request rate limit this is what multiplies
 * throughput: 1,000 items a request move ten times as many eSIMs as the documented 100.
 */
import type { BetatelClient } from '../api/betatel-client';
import { ApiBadRequestError, ApiBadResponseError, ApiUnavailableError } from '../errors';
import { DOCUMENTED_PAGE_SIZE, MAX_PAGE_SIZE, type PageSize } from '../settings';

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
): Promise<number> {
  if (asked !== 'auto') return asked;
  let chosen: number = MAX_PAGE_SIZE;
  let reason = `the API answered ${MAX_PAGE_SIZE} items a page`;
  try {
    const page = await client.fetchPage({ offset: 0, count: MAX_PAGE_SIZE }, signal, { probe: true });
    if (page.records.length < MAX_PAGE_SIZE && page.records.length < page.total) {
      chosen = Math.max(1, page.records.length);
      reason = `the API answers at most ${chosen} items a page`;
    }
  } catch (error) {
    if (!isSizeFailure(error)) throw error;
    chosen = DOCUMENTED_PAGE_SIZE;
    reason = `asking for ${MAX_PAGE_SIZE} items failed (${error.message.slice(0, 160)}); using the documented ${DOCUMENTED_PAGE_SIZE}`;
  }
  onPageSize?.(chosen, reason);
  return chosen;
}
