/**
 * The sandbox's inventory: any number of eSIMs, each computed from its index and a seed, so
 * nothing is held in memory and the same seed always gives the same inventory.
 *
 * It exercises what the real API is known to send (../shared/api/FACTS.md): both item shapes
 * (objects `{id, name}` or plain integer ids with created/modified dates), null groups, empty
 * and multiple IMSIs, null mapped IMSIs, old and unknown statuses, fields the docs never
 * mention, names that are hard for CSV (commas, quotes, line breaks, tabs, a leading `=`,
 * non-Latin text, emoji) and, on request, integers too large for a JavaScript number.
 */

export type ItemShape = 'documented' | 'partial' | 'mixed';

export interface InventoryOptions {
  readonly size: number;
  readonly seed: number;
  readonly shape: ItemShape;
  /** Add an integer beyond 2^53 to some items (no JavaScript number holds it exactly). */
  readonly bigNumbers: boolean;
  /**
   * Days since the base inventory: each day about 1% of the eSIMs are replaced by new ones (the
   * old ICCID removed, a new one added) and about 2% change status (the newer shape's
   * modified_date moves too). Day 0 is the base; every day is deterministic.
   */
  readonly day?: number;
  /**
   * From this day on, the API's schema has changed: every item gains `network` (a string),
   * loses `mapped_imsi`, and sends `provisioned_date` as an ISO 8601 string rather than epoch
   * seconds. @default never
   */
  readonly schemaChangeDay?: number;
}

export interface Filter {
  readonly company?: number;
  readonly inventory?: number;
}

export const COMPANIES = [
  { id: 100, name: 'Acme Corp' },
  { id: 200, name: 'Globex, "International"' },
  { id: 300, name: '株式会社ベータ 📶' },
] as const;

const INVENTORY_NAMES = ['US East Inventory', 'EU\tWest', 'Line\nBreak Stock'] as const;
const INVENTORIES_PER_COMPANY = INVENTORY_NAMES.length;

/** Inventory ids: 12345, 12346, 12347 for company 100; 12355… for 200; 12365… for 300. */
export function inventoryId(companyIndex: number, inventoryIndex: number): number {
  return 12345 + companyIndex * 10 + inventoryIndex;
}

const GROUPS = [
  { id: 1001, name: 'Premium Group' },
  { id: 1002, name: '=HYPERLINK("http://example.invalid","click")' },
  { id: 1003, name: 'Ünïcödé Grüppe' },
  { id: 1004, name: 'Say "hi", then\r\nleave' },
  { id: 1005, name: '' },
  { id: 1006, name: 'Группа ✈️ Travel' },
] as const;

/** Current statuses weighted towards IN_SERVICE, the first SDK's old ones, and one nobody documented. */
const STATUSES = [
  'IN_SERVICE',
  'IN_SERVICE',
  'IN_SERVICE',
  'IN_SERVICE',
  'WAITING_FOR_ASSIGNMENT',
  'PRE_SERVICE',
  'TERMINATED',
  'ASSIGNED',
  'ACTIVE',
  'SUSPENDED',
  'PORTING_OUT',
] as const;

const BASE_TIME_SECONDS = 1_640_995_200; // 2022-01-01

/** A small, fast, seedable PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Luhn check digit, as real ICCIDs carry. */
function luhn(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function iccidOf(index: number): string {
  const body = `8914800${String(index).padStart(12, '0')}`;
  return `${body}${luhn(body)}`;
}

/** How many times, by `day`, the eSIM in slot `index` was replaced, and changed status. */
export function evolutionOf(index: number, day: number): { replaced: number; changed: number } {
  let replaced = 0;
  let changed = 0;
  for (let d = 1; d <= day; d++) {
    if ((index + d * 7919) % 100 === 0) replaced++;
    if ((index + d * 131) % 50 === 0) changed++;
  }
  return { replaced, changed };
}

function evolve(item: Record<string, unknown>, index: number, day: number, partial: boolean): void {
  const { replaced, changed } = evolutionOf(index, day);
  if (replaced > 0) item.iccid = iccidOf(index + replaced * 100_000_000);
  if (changed > 0) {
    const statuses = [...new Set<string>(STATUSES)];
    item.sim_status = statuses[(statuses.indexOf(item.sim_status as string) + changed) % statuses.length];
    if (partial) item.modified_date = (item.modified_date as number) + changed * 86_400_000;
  }
}

/** The JSON text of the eSIM at `index`, in the shape the options ask for. */
export function itemJson(index: number, options: InventoryOptions): string {
  const next = seededRandom(options.seed * 2_654_435_761 + index);
  const companyIndex = index % COMPANIES.length;
  const inventoryIndex = Math.floor(index / COMPANIES.length) % INVENTORIES_PER_COMPANY;
  const company = COMPANIES[companyIndex]!;
  const inventory = { id: inventoryId(companyIndex, inventoryIndex), name: INVENTORY_NAMES[inventoryIndex]! };
  const group = GROUPS[Math.floor(next() * GROUPS.length)]!;
  const status = STATUSES[Math.floor(next() * STATUSES.length)]!;
  const imsiCount = next() < 0.1 ? 0 : 1 + Math.floor(next() * 3);
  const imsis = Array.from({ length: imsiCount }, (_, k) => ({ sponsor_id: 200 + k, imsi: 310_260_000_000_000 + index * 4 + k }));
  const provisioned = BASE_TIME_SECONDS + (index % 94_608_000);
  const partial = options.shape === 'partial' || (options.shape === 'mixed' && index % 2 === 1);

  const item: Record<string, unknown> = {
    iccid: iccidOf(index),
    sim_status: status,
    group: partial ? (next() < 0.2 ? null : group.id) : group,
    inventory: partial ? inventory.id : inventory,
    company: partial ? company.id : company,
    provisioned_date: provisioned,
    terminated_date: status === 'TERMINATED' ? provisioned + 86_400 * (1 + (index % 700)) : 0,
    imsis,
    mapped_imsi: imsis[0]?.imsi ?? null,
  };
  if (partial) {
    item.created_date = provisioned * 1000;
    item.modified_date = (provisioned + (index % 5000)) * 1000;
  }
  // Fields the documentation never mentions: they must survive into NDJSON.
  if (index % 7 === 3) item.eid = `8904903200${String(index).padStart(22, '0')}`;
  if (index % 11 === 4) item.labels = { tier: 'gold', tags: ['iot', 'fleet'] };
  evolve(item, index, options.day ?? 0, partial);
  if (options.schemaChangeDay !== undefined && (options.day ?? 0) >= options.schemaChangeDay) {
    item.network = index % 2 ? '5G' : 'LTE';
    delete item.mapped_imsi;
    item.provisioned_date = new Date((item.provisioned_date as number) * 1000).toISOString();
  }
  const json = JSON.stringify(item);
  // 2^64 - 1: exact only if nothing on the way parses it into a double.
  return options.bigNumbers && index % 13 === 5 ? `${json.slice(0, -1)},"usage_bytes":18446744073709551615}` : json;
}

/**
 * The filtered list as an arithmetic progression of indexes: element k is `stride * k + start`.
 * Items cycle through companies (index mod 3) and, within each, inventories.
 */
export interface View {
  readonly size: number;
  readonly stride: number;
  readonly start: number;
}

export function viewOf(size: number, filter: Filter): View {
  let stride = 1;
  let start = 0;
  let empty = false;
  if (filter.company !== undefined) {
    const companyIndex = COMPANIES.findIndex((c) => c.id === filter.company);
    empty ||= companyIndex < 0;
    stride = COMPANIES.length;
    start = Math.max(0, companyIndex);
  }
  if (filter.inventory !== undefined) {
    const offset = filter.inventory - 12345;
    const companyIndex = Math.floor(offset / 10);
    const inventoryIndex = offset % 10;
    const known = offset >= 0 && companyIndex < COMPANIES.length && inventoryIndex < INVENTORIES_PER_COMPANY;
    empty ||= !known || (filter.company !== undefined && start !== companyIndex);
    stride = COMPANIES.length * INVENTORIES_PER_COMPANY;
    start = known ? inventoryIndex * COMPANIES.length + companyIndex : 0;
  }
  const count = empty || start >= size ? 0 : Math.floor((size - 1 - start) / stride) + 1;
  return { size: count, stride, start };
}
