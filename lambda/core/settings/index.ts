/**
 * The settings: read from any source, defaulted, written as the function's environment.
 *
 * A user gives a setting as a CLI flag, an environment variable of the function, a field of the
 * function's event or a CDK context key. Each row of `SETTINGS` names the setting in every
 * place it can be given, with its help text, its default and its parser; from the table come
 * the CLI's options (cli/run-cli.ts), the function's environment (the stack), the CDK context
 * mapping (lib/context.ts) and the event's overrides (lambda/config.ts). `readSettings` reads
 * any source with the same parser, limits and messages; only the label differs (`--company`,
 * `COMPANY_ID`, `event.company`, `CDK context "companyId"`), so an error names what to fix.
 */
import { ConfigError } from '../errors';
import { FILTERS, type Filters } from '../filters';
import { type PageSize, type Setting, SETTINGS } from './table';
import type { Compression, Format } from '../formats/names';
import { dateIn, settingLabel, type SettingSource } from './parse';

export * from './parse';
export * from './deployment';
export * from './table';
export type { Filters } from '../filters';

export interface ExportSettings {
  /** API base URL; `/esim/sim-registries` is appended. */
  readonly apiBaseUrl: string;
  readonly formats: readonly Format[];
  readonly compression: Compression;
  readonly filters: Filters;
  /**
   * The filters of the deployment's own full snapshot. A run whose filters differ is written
   * under `filtered/…` so it never lands on the full snapshot's keys.
   * @default {} (no filters)
   */
  readonly baseFilters: Filters;
  readonly pageSize: PageSize;
  readonly concurrency: number;
  /** YYYY-MM-DD: names the snapshot's partition. */
  readonly snapshotDate: string;
  /** The shrink guard: a snapshot with more than this percentage fewer eSIMs than the previous one is not published. */
  readonly maxShrink: number;
  /** Publish even so, this once (the manifest says so). */
  readonly allowShrink: boolean;
  /** Write the day's change set (changes/…) beside the snapshot. */
  readonly changeSet: boolean;
}

export type SettingKey = keyof typeof SETTINGS;

/**
 * Every setting a run's event may give (a row with an `event` name) is a field of
 * ExportSettings: a row added without one fails the build, naming it. (The filters are
 * ExportSettings' `filters`.)
 */
type EventSettingKey = { [K in SettingKey]: (typeof SETTINGS)[K]['names'] extends { readonly event: string } ? K : never }[SettingKey];
type WithoutField = Exclude<EventSettingKey, keyof ExportSettings>;
const everyEventSettingIsARunSetting: [WithoutField] extends [never] ? true : { missing: WithoutField } = true;
void everyEventSettingIsARunSetting;

/** What a user can set, as given (validated); any of it may be absent. */
export type GivenSettings = { -readonly [K in SettingKey]?: ReturnType<(typeof SETTINGS)[K]['parse']> };

/** A setting's default, from the table (for a setting that has one). */
export function defaultOf<K extends SettingKey>(key: K): NonNullable<GivenSettings[K]> {
  return (SETTINGS[key] as Setting<unknown>).default as NonNullable<GivenSettings[K]>;
}

/** The settings every caller starts from; they override what they were given. */
export function defaultSettings(today: string): ExportSettings {
  return exportSettings({ snapshotDate: today });
}

/** The API filters among given settings. */
export const filtersOf = (given: GivenSettings): Filters =>
  Object.fromEntries(FILTERS.flatMap(({ param }) => (given[param] === undefined ? [] : [[param, given[param]]])));

/**
 * An export's settings: what was given, the table's defaults for the rest. `baseFilters` are
 * the deployment's own (its full snapshot's scope); the day defaults to today in the time zone.
 */
export function exportSettings(given: GivenSettings, options: { now?: Date; baseFilters?: Filters; dateLabel?: string } = {}): ExportSettings {
  const timezone = given.timezone ?? defaultOf('timezone');
  // A day after tomorrow cannot have a snapshot yet, and would hold latest.json there for good.
  const tomorrow = dateIn(timezone, new Date((options.now ?? new Date()).getTime() + 86_400_000));
  if (given.snapshotDate !== undefined && given.snapshotDate > tomorrow) {
    throw new ConfigError(`${options.dateLabel ?? 'the snapshot date'} must not be after tomorrow (${tomorrow} in ${timezone}), got "${given.snapshotDate}"`);
  }
  return {
    apiBaseUrl: given.apiBaseUrl ?? defaultOf('apiBaseUrl'),
    formats: given.formats ?? defaultOf('formats'),
    compression: given.compression ?? defaultOf('compression'),
    filters: filtersOf(given),
    baseFilters: options.baseFilters ?? {},
    pageSize: given.pageSize ?? defaultOf('pageSize'),
    concurrency: given.concurrency ?? defaultOf('concurrency'),
    snapshotDate: given.snapshotDate ?? dateIn(timezone, options.now),
    maxShrink: given.maxShrink ?? defaultOf('maxShrink'),
    allowShrink: given.allowShrink ?? false,
    changeSet: given.changeSet ?? defaultOf('changeSet'),
  };
}

/** The value a setting has in `given`, or its default. */
const valueOf = <K extends SettingKey>(given: GivenSettings, key: K): GivenSettings[K] => given[key] ?? (SETTINGS[key] as Setting<GivenSettings[K]>).default;

/**
 * The function's environment for `given`: every setting the function reads from its
 * environment, given or defaulted, as text (lists comma-separated).
 */
export function settingsEnvironment(given: GivenSettings): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const name = SETTINGS[key].names.env;
    const value = valueOf(given, key);
    if (name !== undefined && value !== undefined) environment[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return environment;
}

/** `given` keyed by the names `source` knows its settings by (the CDK context keys, say). */
export function namedBy(source: SettingSource, given: GivenSettings): Record<string, unknown> {
  return Object.fromEntries(
    (Object.keys(given) as SettingKey[]).flatMap((key) => {
      const name = SETTINGS[key].names[source];
      return name === undefined || given[key] === undefined ? [] : [[name, given[key]]];
    }),
  );
}

/** The settings a source knows, with their help text and default as --help shows them. */
export function settingsHelp(source: SettingSource): Array<{ name: string; arg?: string; help: string }> {
  return Object.values(SETTINGS as Record<string, Setting<unknown>>).flatMap((definition) => {
    const name = definition.names[source];
    if (name === undefined) return [];
    const shown = definition.defaultText ?? (definition.default === undefined ? undefined : String(definition.default));
    return [{ name, arg: definition.arg, help: shown === undefined ? definition.help : `${definition.help} (default: ${shown})` }];
  });
}

/** The names `source` knows settings by. */
export function settingNames(source: SettingSource): string[] {
  return Object.values(SETTINGS as Record<string, Setting<unknown>>).flatMap((definition) => definition.names[source] ?? []);
}

/**
 * Reads the settings `values` holds, keyed by their names in `source`. Absent values are not
 * given, nor an empty environment variable ("not set"); an empty flag, context value or event
 * field is a mistake (`--page-size ''`, `-c exportPrefix=`) and named as one. Props given to
 * the construct in code are read as 'prop' (named `EsimExport prop "…"`). Every invalid
 * value is named, all at once, in one ConfigError.
 */
export function readSettings(source: SettingSource | 'prop', values: Readonly<Record<string, unknown>>): GivenSettings {
  const given: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, definition] of Object.entries(SETTINGS as Record<string, Setting<unknown>>)) {
    // The construct's props have the context keys' names.
    const name = definition.names[source === 'prop' ? 'context' : source];
    const raw = name === undefined ? undefined : values[name];
    if (raw === undefined || raw === null || (source === 'env' && typeof raw === 'string' && raw.trim() === '')) continue;
    try {
      given[key] = definition.parse(settingLabel(source, name!), typeof raw === 'string' ? raw.trim() : raw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return given as GivenSettings;
}

/**
 * What no one value shows, said at synth rather than at deploy: S3 refuses a lifecycle rule
 * whose steps are out of order, and subnets or security groups mean nothing without their VPC.
 */
export function checkDeployment(given: GivenSettings, source: 'context' | 'prop' = 'context'): void {
  const { expireAfterDays: expire, vpcId, subnetIds, securityGroupIds } = given;
  const ia = given.infrequentAccessAfterDays ?? defaultOf('infrequentAccessAfterDays');
  const glacier = given.glacierAfterDays ?? defaultOf('glacierAfterDays');
  const label = (name: string): string => settingLabel(source, name);
  // An object must stay 30 days in Standard-IA before it may move on.
  if (glacier < ia + 30) {
    throw new ConfigError(`${label('glacierAfterDays')} must be at least 30 days after infrequentAccessAfterDays (${ia}), got ${glacier}`);
  }
  if (expire !== undefined && expire <= glacier) {
    throw new ConfigError(`${label('expireAfterDays')} must be after glacierAfterDays (${glacier}), got ${expire}`);
  }
  if ((subnetIds !== undefined || securityGroupIds !== undefined) !== (vpcId !== undefined) || (vpcId !== undefined && subnetIds === undefined)) {
    throw new ConfigError(`${label('vpcId')} and "subnetIds" go together (securityGroupIds is optional, and needs them): give both, or neither`);
  }
}
