import { configFromEnvironment, settingsForEvent } from '../lambda/config';

const env = { SECRET_ID: 'esim/betatel', BUCKET_NAME: 'snapshots' };
const now = new Date('2026-11-27T10:00:00Z');

describe('configFromEnvironment', () => {
  it('applies the defaults the contract names', () => {
    const config = configFromEnvironment(env);
    expect(config).toMatchObject({ secretId: 'esim/betatel', bucketName: 'snapshots', exportPrefix: 'esims', timezone: 'UTC' });
    expect(settingsForEvent({}, config, now)).toMatchObject({
      apiBaseUrl: 'https://esim.betatel.com/api/v1',
      formats: ['ndjson', 'csv', 'parquet'],
      filters: {},
      baseFilters: {},
      pageSize: 'auto',
      concurrency: 8,
      compression: 'gzip',
    });
  });

  it.each([
    [{ BUCKET_NAME: 'b' }, 'Environment variable SECRET_ID is required'],
    [{ SECRET_ID: 's' }, 'Environment variable BUCKET_NAME is required'],
    [{ ...env, PAGE_SIZE: 'lots' }, 'PAGE_SIZE must be a whole number from 1 to 1000 or auto, got "lots"'],
    [{ ...env, COMPANY_ID: '-3' }, 'COMPANY_ID must be a whole number ≥ 1, got "-3"'],
    [{ ...env, EXPORT_FORMATS: 'xml' }, 'EXPORT_FORMATS must list only ndjson, csv, parquet, got "xml"'],
    [{ ...env, TIMEZONE: 'Berlin' }, 'TIMEZONE must be an IANA time zone'],
    [{ ...env, API_BASE_URL: 'http://api.example.com' }, 'API_BASE_URL must use https://'],
    // Read through the same settings table as the context key eventBusName.
    [{ ...env, EVENT_BUS_NAME: 'arn:aws:events:eu-west-1:1:event-bus/x y' }, 'EVENT_BUS_NAME must be an EventBridge bus name'],
  ])('names the variable at fault in %j', (environment, message) => {
    expect(() => configFromEnvironment(environment)).toThrow(message);
  });

  it('reads the event bus from EVENT_BUS_NAME, and the default bus when it is empty', () => {
    expect(configFromEnvironment({ ...env, EVENT_BUS_NAME: 'data-platform' }).eventBusName).toBe('data-platform');
    expect(configFromEnvironment({ ...env, EVENT_BUS_NAME: '' }).eventBusName).toBeUndefined();
  });

  it('makes the deployment’s filters the full snapshot’s scope', () => {
    const config = configFromEnvironment({ ...env, COMPANY_ID: '100' });
    expect(config.baseFilters).toEqual({ company: 100 });
    expect(settingsForEvent({}, config, now)).toMatchObject({ filters: { company: 100 }, baseFilters: { company: 100 } });
  });
});

describe('settingsForEvent', () => {
  it.each(['2026-02-30T02:00:00Z', '0', '12', '2026-11-27', 'Fri, 27 Nov 2026 02:00:00 GMT'])(
    'refuses the scheduled time %j instead of reading it leniently as another day',
    (time) => {
      const utc = configFromEnvironment(env);
      expect(() => settingsForEvent({ scheduledTime: time }, utc, now)).toThrow(/^invalid event: event.scheduledTime must be an ISO 8601 time/);
      expect(() => settingsForEvent({ 'detail-type': 'Scheduled Event', source: 'aws.events', time }, utc, now)).toThrow(/event.time must be an ISO 8601 time/);
    },
  );

  it('refuses a snapshot date after tomorrow, in the configured time zone', () => {
    const utc = configFromEnvironment(env);
    expect(settingsForEvent({ snapshotDate: '2026-11-28' }, utc, now).snapshotDate).toBe('2026-11-28');
    expect(() => settingsForEvent({ snapshotDate: '2099-01-01' }, utc, now)).toThrow(
      'invalid event: event.snapshotDate must not be after tomorrow (2026-11-28 in UTC), got "2099-01-01". Nothing was exported.',
    );
    expect(() => settingsForEvent({ scheduledTime: '2099-01-01T02:00:00Z' }, utc, now)).toThrow(/event.scheduledTime must not be after tomorrow/);
    // Ahead of UTC, tomorrow comes earlier.
    const tokyo = configFromEnvironment({ ...env, TIMEZONE: 'Asia/Tokyo' });
    expect(settingsForEvent({ snapshotDate: '2026-11-28' }, tokyo, now).snapshotDate).toBe('2026-11-28');
  });

  const config = configFromEnvironment({ ...env, TIMEZONE: 'America/New_York' });

  it('names the snapshot after the scheduled time, in the configured time zone', () => {
    expect(settingsForEvent({ scheduledTime: '2026-11-27T03:00:00Z' }, config, now).snapshotDate).toBe('2026-11-26');
    expect(settingsForEvent({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-11-27T12:00:00Z' }, config, now).snapshotDate).toBe('2026-11-27');
  });

  it('uses today for an empty console event, and null as an empty event', () => {
    expect(settingsForEvent({}, config, now).snapshotDate).toBe('2026-11-27');
    expect(settingsForEvent(null, config, now).snapshotDate).toBe('2026-11-27');
  });

  it('applies overrides', () => {
    const settings = settingsForEvent({ company: 100, inventory: '12345', formats: ['csv'], snapshotDate: '2026-11-01' }, config, now);
    expect(settings).toMatchObject({ filters: { company: 100, inventory: 12345 }, formats: ['csv'], snapshotDate: '2026-11-01', baseFilters: {} });
  });

  it('names every invalid field at once', () => {
    expect(() => settingsForEvent({ formats: ['xml'], company: 'acme', snapshotDate: 'yesterday' }, config, now)).toThrow(
      'invalid event: event.formats must list only ndjson, csv, parquet, got ["xml"]; event.company must be a whole number ≥ 1, got "acme"; event.snapshotDate must be a real date YYYY-MM-DD, got "yesterday". Nothing was exported.',
    );
  });

  it('rejects unknown fields, a bad scheduled time, and a non-object event', () => {
    expect(() => settingsForEvent({ compnay: 100 }, config, now)).toThrow('event.compnay is not a known field (use formats, company, inventory, snapshotDate, maxShrink, allowShrink, changeSet)');
    expect(() => settingsForEvent({ scheduledTime: 'soon' }, config, now)).toThrow(
      'event.scheduledTime must be an ISO 8601 time such as "2026-11-27T02:00:00Z", got "soon"',
    );
    expect(() => settingsForEvent([1, 2], config, now)).toThrow('event must be a JSON object, got [1,2]');
  });
});
