import { ConfigError } from '../lambda/core/errors';
import { dateIn, exportSettings, parseApiUrl, parseDate, parseFormats, parseId, parseInteger, parseTimezone } from '../lambda/core/settings';

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
