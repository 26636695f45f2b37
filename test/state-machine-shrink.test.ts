/**
 * The shrink guard in the synthesized state machine: a run whose snapshot lost more eSIMs than
 * maxShrink allows fails the execution (the failure alarms) and leaves the bucket byte for
 * byte as it was; the input {"allowShrink": true} publishes it.
 */
import { type Call, stateMachineHarness } from './state-machine-harness';
import { type Sandbox, startSandbox } from '../sandbox/server';

const harness = stateMachineHarness();
let smaller: Sandbox;

beforeAll(async () => {
  // 2,000 of the harness's 2,400 eSIMs: 16.7% fewer, behind a total that matches.
  smaller = await startSandbox({ size: 2_000, latencyMs: 20 });
});
afterAll(async () => {
  await smaller.close();
});

it('fails the execution and changes nothing on a snapshot 16.7% smaller, then publishes it when the input allows it', async () => {
  await harness.execute({ snapshotDate: '2026-11-26', formats: ['ndjson'] }, 'yesterday', []);
  const before = await harness.objects();
  const usual = process.env.API_BASE_URL;
  process.env.API_BASE_URL = smaller.apiBaseUrl;
  try {
    const calls: Call[] = [];
    await expect(harness.execute({ snapshotDate: '2026-11-27', formats: ['ndjson'] }, 'shrunk', calls)).rejects.toMatchObject({ name: 'ExecutionError' });
    expect(calls.map((call) => call.step)).toContain('cleanup');
    expect(await harness.objects()).toEqual(before);

    await harness.execute({ snapshotDate: '2026-11-27', formats: ['ndjson'], allowShrink: true }, 'allowed', []);
    expect(await harness.manifest('2026-11-27')).toMatchObject({ records: 2_000, shrink: { allowed: true, previous: { snapshot_date: '2026-11-26', records: 2_400 } } });
  } finally {
    process.env.API_BASE_URL = usual;
  }
}, 120_000);
