import { parsePage, statusOf } from '../lambda/core/records';

const documented = {
  iccid: '89148000004012345678',
  sim_status: 'WAITING_FOR_ASSIGNMENT',
  group: { id: 1001, name: 'Premium, "Group"' },
  imsis: [{ sponsor_id: 200, imsi: 310260123456789 }],
};
const partial = { iccid: '8914800000401234567', sim_status: 'ACTIVE', group: null, inventory: 12345, brand_new_field: { nested: [1, 2] } };

const body = (sims: unknown[], total = sims.length): Buffer => Buffer.from(JSON.stringify({ total, offset: 0, count: sims.length, sims }));

describe('parsePage', () => {
  it('returns the total and every record, unknown fields kept', () => {
    const page = parsePage(body([documented, partial], 250));
    expect(page.total).toBe(250);
    expect(page.sims).toEqual([documented, partial]);
  });

  it.each([
    ['a truncated body', '{"total":10,"sims":[{"iccid":"1"', /not valid JSON/],
    ['an HTML page', '<html><body>Maintenance</body></html>', /not valid JSON/],
    ['a body without sims', '{"total":10}', /sims/],
    ['a record without an iccid', '{"total":1,"sims":[{"sim_status":"ACTIVE"}]}', /sims\.0: iccid must be a string/],
    ['a record that is not an object', '{"total":1,"sims":[42]}', /sims\.0: must be an object/],
    ['a numeric status', '{"total":1,"sims":[{"iccid":"1","sim_status":3}]}', /sims\.0: sim_status must be a string/],
    ['a numeric iccid', '{"total":1,"sims":[{"iccid":8914}]}', /iccid must be a string/],
    ['a negative total', '{"total":-1,"sims":[]}', /total/],
    ['sims that hold something besides objects', '{"total":2,"sims":[{"iccid":"1"},[{"iccid":"2"}]]}', /sims\.1: must be an object/],
  ])('rejects %s with a message saying what is wrong', (_name, raw, message) => {
    expect(() => parsePage(Buffer.from(raw))).toThrow(message);
  });
});

describe('statusOf', () => {
  it('counts an unknown status as itself and a missing one as (none)', () => {
    expect(statusOf({ iccid: '1', sim_status: 'PORTING_OUT' })).toBe('PORTING_OUT');
    expect(statusOf({ iccid: '1', sim_status: null })).toBe('(none)');
  });
});

describe('redact', () => {
  it('removes credentials from server text, leaving words intact around short values', async () => {
    const { redact } = await import('../lambda/core/errors');
    expect(redact('bad key abcd-1234 for user 675aed61', ['abcd-1234', '675aed61'])).toBe('bad key [redacted] for user [redacted]');
    expect(redact('Unauthorized', ['u'])).toBe('Unauthorized');
  });
});
