import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalRunner } from '../../lib/local/runner.ts';
import { FIXTURE_ROOT } from './fixtures/app.ts';
import { EVENTS_WORKFLOW, synthEventsFixture } from './fixtures/events-app.ts';
import { clearCalls, recordedCalls } from './fixtures/functions/calls.ts';

let template: object;
beforeAll(() => {
  template = synthEventsFixture();
});
beforeEach(() => clearCalls());

/** Waits stretched to 3 s: longer than the machine's TimeoutSeconds (1). */
const runner = (waitOverrideMs = 0) => new LocalRunner({ template, projectRoot: FIXTURE_ROOT, waitOverrideMs, handlers: 'source' });
const received = () => recordedCalls('OnEnd').map((c) => c.event as { 'detail-type': string; source: string; detail: Record<string, unknown> });

describe('the runner delivers an ended execution to the EventBridge rules of its template', () => {
  it('FAILED: the rule target gets the status change as Step Functions sends it', async () => {
    // act
    const result = await runner().start(EVENTS_WORKFLOW, { fail: true }, { name: 'failing' });
    // assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'StepFailed' });
    expect(result.eventDeliveries).toEqual([expect.objectContaining({ delivered: true, attempts: 1 })]);
    expect(received()).toEqual([
      expect.objectContaining({
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        resources: [result.executionArn],
        detail: expect.objectContaining({ executionArn: result.executionArn, name: 'failing', status: 'FAILED', input: '{"fail":true}', error: 'StepFailed', output: null }),
      }),
    ]);
    expect(recordedCalls('OnEnd')[0]?.functionName).toMatch(/^OnEndFn/);
  });

  it('TIMED_OUT and ABORTED reach it too; SUCCEEDED does not match the pattern', async () => {
    // prepare
    const stop = new AbortController();
    // act
    const timedOut = await runner(3_000).start(EVENTS_WORKFLOW, {}, { name: 'lingering' });
    const stopping = runner(3_000).start(EVENTS_WORKFLOW, {}, { name: 'stopped', signal: stop.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop.abort();
    const aborted = await stopping;
    const succeeded = await runner(0).start(EVENTS_WORKFLOW, {}, { name: 'quick' });
    // assess
    expect([timedOut.status, aborted.status, succeeded.status]).toEqual(['TIMED_OUT', 'ABORTED', 'SUCCEEDED']);
    expect(received().map((e) => [e.detail['name'], e.detail['status']])).toEqual([
      ['lingering', 'TIMED_OUT'],
      ['stopped', 'ABORTED'],
    ]);
    expect(succeeded.eventDeliveries).toBeUndefined();
  });

  it('a target that outlives its function timeout is retried as Lambda retries an asynchronous call, then reported undelivered', async () => {
    // act
    const result = await runner().start(EVENTS_WORKFLOW, { fail: true, slowTarget: true }, { name: 'slow-target' });
    // assess
    expect(result.status).toBe('FAILED');
    expect(result.eventDeliveries).toEqual([expect.objectContaining({ delivered: false, attempts: 3, error: 'Sandbox.Timedout: Task timed out after 1.00 seconds' })]);
    expect(recordedCalls('OnEnd')).toHaveLength(3);
  });
});
