import { describe, expect, it } from 'vitest';
import { scheduleInput } from '../../lib/cli/start.ts';

describe('mass-refund start --schedule', () => {
  it('builds the same input as the CDK schedule, --input adding the mode', () => {
    expect(scheduleInput('DispatchRefunds', 'nightly', {})).toEqual({ schedule: 'nightly', requestedBy: 'schedule:nightly' });
    expect(scheduleInput('DispatchRefunds', 'nightly', { mode: 'psp' })).toEqual({ schedule: 'nightly', mode: 'psp', requestedBy: 'schedule:nightly' });
  });

  it('refuses other workflows and unknown schedules', () => {
    expect(() => scheduleInput('WriteOff', 'nightly', {})).toThrow('DispatchRefunds only');
    expect(() => scheduleInput('DispatchRefunds', 'hourly', {})).toThrow('nightly');
  });
});

describe('mass-refund start: exit code of a finished run', () => {
  it('exits 1 for a run that completed with errors or failed, 0 for one that succeeded or awaits approval', async () => {
    // prepare
    const { outcomeOf } = await import('../../lib/cli/executions.ts');
    const ended = (report: Record<string, unknown>) => ({ status: 'SUCCEEDED', output: JSON.stringify(report), $metadata: {} }) as never;
    // act and assess
    expect(outcomeOf('CancelPerformance', 'r', ended({ runId: 'r', status: 'succeeded', errors: [] })).exitCode).toBe(0);
    expect(outcomeOf('DispatchRefunds', 'r', ended({ runId: 'r', status: 'awaiting_approval', errors: [{ code: 'AwaitingApproval', message: '' }] })).exitCode).toBe(0);
    expect(outcomeOf('CancelPerformance', 'r', ended({ runId: 'r', status: 'completed_with_errors', errors: [{ code: 'OrderNotBooked', message: 'x' }] })).exitCode).toBe(1);
  });
});
