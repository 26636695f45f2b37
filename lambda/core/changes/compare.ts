/**
 * When two records of one eSIM are the same: when their API values are equal, whatever the
 * order of their keys. A field that appears, or goes, is a change.
 */
import { isLosslessNumber } from 'lossless-json';
import type { ApiRecord } from '../record';

/** JSON text with every object's keys sorted: equal values give equal text. Numbers keep the API's digits. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (isLosslessNumber(value)) return value.toString();
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  return `{${Object.keys(object)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`)
    .join(',')}}`;
}

/** The top-level fields whose values differ (or that one record has and the other has not), in the newer record's order. */
export function changedFields(before: ApiRecord, after: ApiRecord): string[] {
  const fields = [...new Set([...Object.keys(after), ...Object.keys(before)])];
  // Object.hasOwn, not `in`: any name is data, `__proto__` and `constructor` included (JSON.parse makes them own fields).
  return fields.filter((field) => !Object.hasOwn(before, field) || !Object.hasOwn(after, field) || canonicalJson(before[field]) !== canonicalJson(after[field]));
}
