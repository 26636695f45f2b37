import { PagePlan } from '../lambda/core/harvest/page-plan';
import type { PageRange } from '../lambda/core/api/betatel-client';

/** Drives a plan against an in-memory list, answering ranges in the order `pick` chooses. */
function drive(
  list: number[],
  options: { pageSize: number; window?: number; maxPage?: number; pick?: (pending: PageRange[]) => number; totalAt?: (step: number) => number },
): { handedOn: number[]; requests: PageRange[] } {
  const plan = new PagePlan(options.pageSize, options.window ?? options.pageSize * 8);
  const answers = new Map<number, number[]>();
  const pending: PageRange[] = [];
  const requests: PageRange[] = [];
  const handedOn: number[] = [];
  for (let step = 0; step < 10_000; step++) {
    for (let range = plan.next(); range; range = plan.next()) {
      pending.push(range);
      requests.push(range);
    }
    if (plan.done) return { handedOn, requests };
    const [range] = pending.splice(options.pick?.(pending) ?? 0, 1);
    if (!range) throw new Error('stalled');
    const count = Math.min(range.count, options.maxPage ?? range.count);
    const items = list.slice(range.offset, range.offset + count);
    answers.set(range.offset, items);
    plan.arrive(range, items.length, options.totalAt?.(step) ?? list.length);
    for (const ready of plan.ready()) handedOn.push(...answers.get(ready.offset)!);
  }
  throw new Error('did not finish');
}

const inventory = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('PagePlan', () => {
  it('hands on every item once, in order, when pages arrive in any order', () => {
    const { handedOn } = drive(inventory(1_050), { pageSize: 100, pick: (pending) => pending.length - 1 });
    expect(handedOn).toEqual(inventory(1_050));
  });

  it('loses nothing when the server returns 37 items where 100 were asked', () => {
    const { handedOn, requests } = drive(inventory(1_000), { pageSize: 100, maxPage: 37, pick: (pending) => pending.length - 1 });
    expect(handedOn).toEqual(inventory(1_000));
    // It advanced by what was received: the rest of each range was asked for again.
    expect(requests).toContainEqual({ offset: 37, count: 63 });
    expect(requests).toContainEqual({ offset: 74, count: 26 });
  });

  it('asks only for the first page until the total is known, then plans the rest', () => {
    const plan = new PagePlan(100, 10_000);
    expect(plan.next()).toEqual({ offset: 0, count: 100 });
    expect(plan.next()).toBeUndefined();
    plan.arrive({ offset: 0, count: 100 }, 100, 250);
    expect([plan.next(), plan.next(), plan.next()]).toEqual([{ offset: 100, count: 100 }, { offset: 200, count: 100 }, undefined]);
  });

  it('never plans further than the window ahead of what it has handed on', () => {
    const plan = new PagePlan(100, 300);
    plan.next();
    plan.arrive({ offset: 0, count: 100 }, 100, 10_000);
    expect([...plan.ready()]).toHaveLength(1);
    const planned: PageRange[] = [];
    for (let range = plan.next(); range; range = plan.next()) planned.push(range);
    expect(planned.map((r) => r.offset)).toEqual([100, 200, 300]);
  });

  it('handles an empty inventory', () => {
    const { handedOn, requests } = drive([], { pageSize: 100 });
    expect(handedOn).toEqual([]);
    expect(requests).toEqual([{ offset: 0, count: 100 }]);
  });

  it('follows a total that grows during the pass', () => {
    const list = inventory(500);
    const { handedOn } = drive(list, { pageSize: 100, totalAt: (step) => (step < 2 ? 300 : 500) });
    expect(handedOn).toEqual(list);
  });

  it('ends at an empty page when the inventory shrank below the reported total', () => {
    const { handedOn } = drive(inventory(250), { pageSize: 100, totalAt: () => 400 });
    expect(handedOn).toEqual(inventory(250));
  });

  it('remembers every total it was told', () => {
    const plan = new PagePlan(10, 100);
    plan.next();
    plan.arrive({ offset: 0, count: 10 }, 10, 20);
    plan.next();
    plan.arrive({ offset: 10, count: 10 }, 10, 21);
    expect([...plan.totalsSeen]).toEqual([20, 21]);
  });
});
