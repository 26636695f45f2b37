/**
 * The harvest's reconciliation against APIs whose paging is broken in ways the sandbox does not
 * simulate. The client here is a stand-in for BetatelClient that serves pages from memory.
 */
import type { BetatelClient, PageRange } from '../lambda/core/api/betatel-client';
import { Harvest } from '../lambda/core/harvest/harvest';
import { IccidSet } from '../lambda/core/harvest/iccid-set';
import { parsePage } from '../lambda/core/api/page';

function clientServing(page: (range: PageRange) => { total: number; iccids: string[] }): BetatelClient {
  return {
    fetchPage: async (range: PageRange) => {
      const { total, iccids } = page(range);
      return parsePage(Buffer.from(JSON.stringify({ total, sims: iccids.map((iccid) => ({ iccid, sim_status: 'IN_SERVICE' })) })));
    },
  } as unknown as BetatelClient;
}

async function harvestAll(client: BetatelClient): Promise<{ iccids: string[]; harvest: Harvest }> {
  const harvest = new Harvest(client, { pageSize: 10, concurrency: 4, maxPasses: 3, signal: new AbortController().signal });
  const iccids: string[] = [];
  for await (const records of harvest.batches()) iccids.push(...records.map((record) => record.iccid));
  return { iccids, harvest };
}

const ids = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => `8914800000000000${String(from + i).padStart(4, '0')}`);

describe('Harvest', () => {
  it('reads a stable inventory in one pass with no warning', async () => {
    const { iccids, harvest } = await harvestAll(clientServing(({ offset, count }) => ({ total: 95, iccids: ids(0, 95).slice(offset, offset + count) })));
    expect(iccids).toEqual(ids(0, 95));
    expect(harvest.summary).toEqual({ records: 95, apiTotal: 95, passes: 1, warnings: [] });
  });

  it('fails when an API ignores the offset: a shortfall no drift explains is not a snapshot', async () => {
    await expect(harvestAll(clientServing(() => ({ total: 50, iccids: ids(0, 10) })))).rejects.toMatchObject({
      code: 'API_BAD_RESPONSE',
      message:
        'the API reported a total of 50 eSIMs but its pages listed only 10 distinct ones in 3 passes (does it ignore offset, or sort unstably?); an incomplete snapshot is not published.',
    });
  });

  it('survives an absurd total (10^12) without sizing anything by it, and fails clearly on the shortfall', async () => {
    const serve = clientServing(({ offset, count }) => ({ total: 1e12, iccids: ids(0, 30).slice(offset, offset + count) }));
    await expect(harvestAll(serve)).rejects.toMatchObject({
      code: 'API_BAD_RESPONSE',
      message: expect.stringMatching(/^the API reported a total of 1000000000000 eSIMs but its pages listed only 30 distinct ones/),
    });
  });

  it('carries on from a checkpoint: two halves give the same records as one read', async () => {
    const serve = clientServing(({ offset, count }) => ({ total: 95, iccids: ids(0, 95).slice(offset, offset + count) }));
    const signal = new AbortController().signal;
    // stopAt in the past: the first harvest hands on what it has and stops at once.
    const first = new Harvest(serve, { pageSize: 10, concurrency: 1, maxPasses: 3, signal, stopAt: 0 });
    const before: string[] = [];
    for await (const records of first.batches()) before.push(...records.map((record) => record.iccid));
    expect(first.checkpoint.summary).toBeUndefined();
    const saved = JSON.parse(JSON.stringify(first.checkpoint)) as typeof first.checkpoint;
    const second = new Harvest(serve, { pageSize: 10, concurrency: 4, maxPasses: 3, signal }, saved, IccidSet.fromBuffer(first.seen.toBuffer()));
    const after: string[] = [];
    for await (const records of second.batches()) after.push(...records.map((record) => record.iccid));
    expect([...before, ...after]).toEqual(ids(0, 95));
    expect(second.summary).toEqual({ records: 95, apiTotal: 95, passes: 1, warnings: [] });
  });

  it('finds on a second pass what an unstable sort hid on the first', async () => {
    let requests = 0;
    const all = ids(0, 40);
    // The first four requests page through a listing in which one eSIM shows up twice and another never.
    const first = [...all.slice(0, 20), all[5]!, ...all.slice(22, 40), all[7]!];
    const { iccids, harvest } = await harvestAll(
      clientServing(({ offset, count }) => ({ total: 40, iccids: (requests++ < 4 ? first : all).slice(offset, offset + count) })),
    );
    expect(new Set(iccids).size).toBe(iccids.length);
    expect([...iccids].sort()).toEqual(all);
    expect(harvest.summary.passes).toBe(2);
    // Everything was reconciled: the manifest's `passes` shows the extra read, no warning is due.
    expect(harvest.summary.warnings).toEqual([]);
  });

  it('warns when an API lists some eSIMs twice yet the count adds up', async () => {
    // Overlapping pages: each answer carries the first item of the next page too.
    const listing = ids(0, 20);
    const { iccids, harvest } = await harvestAll(clientServing(({ offset, count }) => ({ total: 20, iccids: listing.slice(offset, offset + count + 1) })));
    expect(iccids).toEqual(ids(0, 20));
    expect(harvest.summary.warnings).toEqual(['the API listed 1 eSIM(s) more than once while paging; each was written once.']);
  });

  it('exports each eSIM once, with a warning, when the API lists two twice and its total counts them', async () => {
    // 32 listings, 30 eSIMs: two of them also appear on a later page. No whole page repeats.
    const listing = [...ids(0, 15), ids(3, 1)[0]!, ...ids(15, 15), ids(20, 1)[0]!];
    const { iccids, harvest } = await harvestAll(clientServing(({ offset, count }) => ({ total: 32, iccids: listing.slice(offset, offset + count) })));
    expect(iccids).toEqual(ids(0, 30));
    // A second pass found nothing new: the shortfall is the duplicates, not skipped eSIMs.
    expect(harvest.summary).toEqual({
      records: 30,
      apiTotal: 32,
      passes: 2,
      warnings: ["the API's total of 32 counts 2 listing(s) of eSIMs it lists more than once; each was written once (30 eSIMs)."],
    });
  });

  it('still fails when the listing repeats whole pages, even though the repeats add up to the total', async () => {
    // Every page after the first is the first again: 50 listings of 10 eSIMs.
    await expect(harvestAll(clientServing(({ count }) => ({ total: 50, iccids: ids(0, 10).slice(0, count) })))).rejects.toMatchObject({ code: 'API_BAD_RESPONSE' });
  });
});
