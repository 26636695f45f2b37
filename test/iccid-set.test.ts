import { IccidSet } from '../lambda/core/harvest/iccid-set';

describe('IccidSet', () => {
  it('tells new, seen in an earlier pass, and repeated within a pass apart', () => {
    const set = new IccidSet();
    expect(set.mark('89148000004012345678', 1)).toBe('new');
    expect(set.mark('89148000004012345678', 1)).toBe('repeat-in-pass');
    expect(set.mark('89148000004012345678', 2)).toBe('seen-in-earlier-pass');
    expect(set.mark('89148000004012345678', 2)).toBe('repeat-in-pass');
    expect(set.size).toBe(1);
  });

  it('keeps ICCIDs apart that differ only in length or leading digits', () => {
    const set = new IccidSet();
    const ids = ['89148000004012345678', '9148000004012345678', '09148000004012345678', '79148000004012345678', '99999000004012345678', '1', '01', '001'];
    for (const id of ids) expect(set.mark(id, 1)).toBe('new');
    expect(set.size).toBe(ids.length);
    for (const id of ids) expect(set.mark(id, 1)).toBe('repeat-in-pass');
  });

  it('remembers passes up to 255 for the largest ICCIDs', () => {
    const set = new IccidSet();
    set.mark('99999999999999999999', 255);
    expect(set.mark('99999999999999999999', 255)).toBe('repeat-in-pass');
    expect(set.mark('99999999999999999999', 3)).toBe('seen-in-earlier-pass');
  });

  it('stays exact while growing far past its initial capacity', () => {
    const set = new IccidSet(16);
    const iccid = (i: number): string => `8914800${String(i * 7919).padStart(13, '0')}`;
    const sightings = new Map<string, number>();
    const count = (s: string): void => void sightings.set(s, (sightings.get(s) ?? 0) + 1);
    for (let i = 0; i < 200_000; i++) count(set.mark(iccid(i), 1));
    for (let i = 0; i < 200_000; i += 2) count(set.mark(iccid(i), 2));
    expect(Object.fromEntries(sightings)).toEqual({ new: 200_000, 'seen-in-earlier-pass': 100_000 });
    expect(set.size).toBe(200_000);
  });

  it('accepts ICCIDs that are not all digits or longer than 20', () => {
    const set = new IccidSet();
    expect(set.mark('8914800000401234567F', 1)).toBe('new');
    expect(set.mark('891480000040123456789012', 1)).toBe('new');
    expect(set.mark('8914800000401234567F', 1)).toBe('repeat-in-pass');
    expect(set.size).toBe(2);
  });

  it('keeps what it holds when room is reserved ahead', () => {
    const set = new IccidSet();
    set.mark('89148000004012345678', 1);
    set.reserve(100_000);
    expect(set.mark('89148000004012345678', 1)).toBe('repeat-in-pass');
    expect(set.mark('89148000004012345679', 1)).toBe('new');
    expect(set.size).toBe(2);
  });
});
