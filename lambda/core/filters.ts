/**
 * The API's filters, one row each. A row is the filter's name in the API's query string, and
 * from it everything else: the scope's folder segment (`filtered/company=100/…`), the manifest's
 * `source` field, and the setting in every place it can be given (`--company`, `COMPANY_ID`,
 * `event.company`, CDK context `companyId`). A filter the API gains is one row here (and the
 * sandbox learning it).
 */
export const FILTERS = [
  { param: 'company', help: "export only this company (the API's company filter)" },
  { param: 'inventory', help: "export only this inventory (the API's inventory filter)" },
] as const;

export type FilterName = (typeof FILTERS)[number]['param'];

/** The filters a run was given. A run's scope is the set of filters it was run with. */
export type Filters = { readonly [Name in FilterName]?: number };

/** The filter's name in each place a setting can be given. */
export function filterSettingNames(param: FilterName) {
  return { flag: `--${param}`, env: `${param.toUpperCase()}_ID`, event: param, context: `${param}Id` } as const;
}

/** The given filters, in the table's order: [name, value] pairs. */
export function givenFilters(filters: Filters): Array<[FilterName, number]> {
  return FILTERS.flatMap(({ param }) => (filters[param] === undefined ? [] : [[param, filters[param]] as [FilterName, number]]));
}

/** True when both name the same filters. */
export const sameFilters = (a: Filters, b: Filters): boolean => FILTERS.every(({ param }) => a[param] === b[param]);

/** The manifest's `source` fields: every filter, null when not given. */
export const filterFields = (filters: Filters): Record<FilterName, number | null> =>
  Object.fromEntries(FILTERS.map(({ param }) => [param, filters[param] ?? null])) as Record<FilterName, number | null>;

/** A scope's folder (layout.ts): '' for the full snapshot, else `filtered/` and one segment per filter. */
export const SCOPE_PATTERN = new RegExp(`^(filtered(/(${FILTERS.map(({ param }) => param).join('|')})=\\d+)+|filtered/unfiltered)?$`);
