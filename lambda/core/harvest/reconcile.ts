/**
 * What a harvest's last pass amounts to: the snapshot's warnings, or the failure of an API
 * whose paging skips eSIMs (harvest.ts decides when a pass is the last).
 */
import { ApiBadResponseError } from '../errors';

/** What a harvest read: the snapshot's counts and warnings. */
export interface HarvestSummary {
  readonly records: number;
  readonly apiTotal: number;
  readonly passes: number;
  readonly warnings: readonly string[];
}

/** What one pass over the listing saw. */
export interface PassResult {
  readonly consistent: boolean;
  readonly total: number;
  readonly totalsSeen: readonly number[];
  readonly distinct: number;
  readonly repeats: number;
  readonly repeatedPages: number;
}

/** The summary of a harvest whose last pass was `result`; throws when the listing skipped eSIMs. */
export function summarize(result: PassResult, duplicates: boolean, pass: number, records: number): HarvestSummary {
  const warnings: string[] = [];
  const { total, totalsSeen, repeats } = result;
  // No warning that counts nothing: a pass that reconciled fully with no eSIM listed twice says nothing here.
  if (repeats > 0) {
    warnings.push(
      duplicates
        ? `the API's total of ${total} counts ${repeats} listing(s) of eSIMs it lists more than once; each was written once (${records} eSIMs).`
        : `the API listed ${repeats} eSIM(s) more than once while paging; each was written once.`,
    );
  }
  if (!result.consistent && !duplicates) {
    if (totalsSeen.length > 1) {
      warnings.push(
        `the inventory kept changing during the export: after ${pass} passes the API reported totals ` +
          `${totalsSeen.join(', ')} in the last pass, which listed ${result.distinct} distinct eSIMs; ` +
          'eSIMs added or moved during the run may be missing. Run again when the inventory is quieter.',
      );
    } else if (records < total) {
      // The total held still, yet paging listed fewer distinct eSIMs, pass after pass, and no
      // duplicates explain it: the API's paging skips items (an unstable sort, or an offset it
      // ignores). This is not a snapshot of the inventory: fail, publish nothing.
      throw new ApiBadResponseError(
        `the API reported a total of ${total} eSIMs but its pages listed only ${records} distinct ones ` +
          `in ${pass} passes (does it ignore offset, or sort unstably?); an incomplete snapshot is not published.`,
      );
    } else {
      warnings.push(`the API reported a total of ${total} but its pages listed ${result.distinct} distinct eSIMs; the snapshot holds all ${records}.`);
    }
  }
  const gone = records - result.distinct;
  if (pass > 1 && gone > 0) {
    warnings.push(
      `${gone} eSIM(s) in this snapshot were no longer listed by the API at the end of the run ` +
        '(removed or moved out of scope while it ran).',
    );
  }
  return { records, apiTotal: result.total, passes: pass, warnings };
}

