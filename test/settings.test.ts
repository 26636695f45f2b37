import { ConfigError } from '../lambda/core/errors';
import { configFromEnvironment } from '../lambda/config';
import { FILTERS, filterFields, filterSettingNames, SCOPE_PATTERN } from '../lambda/core/filters';
import { scopeOf } from '../lambda/core/snapshot/layout';
import { dateIn, exportSettings, namedBy, parseApiUrl, parseDate, parseFormats, parseId, parseInteger, parseTimezone, readSettings, settingsEnvironment, settingsHelp } from '../lambda/core/settings';

describe('settings parsers', () => {
  it('accept https anywhere and http only to loopback hosts', () => {
    expect(parseApiUrl('--api-url', 'https://esim.betatel.com/api/v1/')).toBe('https://esim.betatel.com/api/v1');
    expect(parseApiUrl('--api-url', 'http://127.0.0.1:4010/api/v1')).toBe('http://127.0.0.1:4010/api/v1');
    expect(parseApiUrl('--api-url', 'http://localhost:4010/api/v1')).toBe('http://localhost:4010/api/v1');
    expect(parseApiUrl('--api-url', 'http://[::1]:4010/api/v1')).toBe('http://[::1]:4010/api/v1');
    expect(() => parseApiUrl('--api-url', 'http://esim.betatel.com/api/v1')).toThrow(/--api-url must use https:\/\//);
    expect(() => parseApiUrl('--api-url', 'http://10.0.0.5/api/v1')).toThrow(ConfigError);
    expect(() => parseApiUrl('--api-url', 'not a url')).toThrow(/--api-url must be an absolute/);
    expect(() => parseApiUrl('--api-url', 'https://user:pw@host/api')).toThrow(/credentials/);
  });

  it('read formats as a comma list or an array, in canonical order, and name the bad value', () => {
    expect(parseFormats('--formats', 'csv,ndjson')).toEqual(['ndjson', 'csv']);
    expect(parseFormats('event.formats', ['csv'])).toEqual(['csv']);
    expect(() => parseFormats('--formats', 'xml')).toThrow('--formats must list only ndjson, csv, parquet, got "xml"');
    expect(() => parseFormats('--formats', '')).toThrow(/--formats must name at least one/);
    expect(() => parseFormats('event.formats', 42)).toThrow(/event.formats/);
  });

  it('read whole numbers from strings or numbers within their range', () => {
    expect(parseId('--company', '100')).toBe(100);
    expect(parseId('event.company', 100)).toBe(100);
    expect(() => parseId('--company', 'abc')).toThrow('--company must be a whole number ≥ 1, got "abc"');
    expect(() => parseId('event.company', 'acme')).toThrow(/event.company/);
    expect(() => parseInteger('--page-size', '0', 1, 1000)).toThrow('--page-size must be a whole number from 1 to 1000, got "0"');
    expect(() => parseInteger('--page-size', '1.5', 1, 1000)).toThrow(/--page-size/);
    expect(() => parseInteger('--page-size', '', 1, 1000)).toThrow(/--page-size/);
  });

  it('read real dates only', () => {
    expect(parseDate('--date', '2026-02-28')).toBe('2026-02-28');
    expect(() => parseDate('--date', '2026-02-30')).toThrow(/--date must be a real date/);
    expect(() => parseDate('--date', '27.11.2026')).toThrow(/--date/);
  });

  it('compute today in a time zone', () => {
    const lateUtc = new Date('2026-11-27T23:30:00Z');
    expect(dateIn('UTC', lateUtc)).toBe('2026-11-27');
    expect(dateIn('Europe/Berlin', lateUtc)).toBe('2026-11-28');
    expect(() => parseTimezone('TIMEZONE', 'Mars/Olympus')).toThrow(/TIMEZONE must be an IANA time zone/);
  });
});

describe('exportSettings', () => {
  it('refuses a --date after tomorrow in the time zone, naming the flag', () => {
    const now = new Date('2026-11-27T23:30:00Z');
    expect(exportSettings({ snapshotDate: '2026-11-28' }, { now, dateLabel: '--date' }).snapshotDate).toBe('2026-11-28');
    expect(() => exportSettings({ snapshotDate: '2026-11-29' }, { now, dateLabel: '--date' })).toThrow(
      '--date must not be after tomorrow (2026-11-28 in UTC), got "2026-11-29"',
    );
    // In Berlin it is already the 28th, so the 29th is tomorrow.
    expect(exportSettings({ snapshotDate: '2026-11-29', timezone: 'Europe/Berlin' }, { now }).snapshotDate).toBe('2026-11-29');
  });
});

describe('the settings table', () => {
  it('writes the function environment from one place: every variable the function reads, defaults included', () => {
    const environment = settingsEnvironment({ company: 100, formats: ['csv', 'parquet'], secretId: 'arn:secret', bucketName: 'b', maxRunSeconds: 720 });
    expect(environment).toEqual({
      API_BASE_URL: 'https://esim.betatel.com/api/v1',
      EXPORT_FORMATS: 'csv,parquet',
      COMPANY_ID: '100',
      PAGE_SIZE: 'auto',
      CONCURRENCY: '8',
      TIMEZONE: 'UTC',
      EXPORT_PREFIX: 'esims',
      SECRET_ID: 'arn:secret',
      BUCKET_NAME: 'b',
      MAX_RUN_SECONDS: '720',
      MAX_SHRINK: '10',
      CHANGE_SET: 'true',
    });
    // What the stack writes, the function reads back as the same settings.
    const config = configFromEnvironment(environment);
    expect(config.given).toMatchObject({ company: 100, formats: ['csv', 'parquet'], maxRunSeconds: 720, exportPrefix: 'esims' });
    expect(config.baseFilters).toEqual({ company: 100 });
  });

  it('maps settings back to their names in a source (the CDK context keys are the stack props)', () => {
    expect(namedBy('context', { inventory: 7, secretId: 'my-secret', pageSize: 'auto' })).toEqual({ inventoryId: 7, secret: 'my-secret', pageSize: 'auto' });
  });

  it.each(FILTERS.map(({ param }) => param))('drives the %s filter everywhere from its row', (param) => {
    const names = filterSettingNames(param);
    for (const source of ['flag', 'env', 'event', 'context'] as const) {
      expect(readSettings(source, { [names[source]]: '42' })).toEqual({ [param]: 42 });
    }
    expect(settingsHelp('flag').map((option) => option.name)).toContain(`--${param}`);
    const scope = scopeOf({ [param]: 42 }, {});
    expect(scope).toBe(`filtered/${param}=42`);
    expect(SCOPE_PATTERN.test(scope)).toBe(true);
    expect(filterFields({ [param]: 42 })).toMatchObject({ [param]: 42 });
  });
});
