import { describe, expect, it } from 'vitest';
import { exitCodeOfOutput, scheduleInput } from '../../lib/cli/start.ts';

describe('mass-refund start --schedule', () => {
  it('builds the same input as the CDK schedule, --input adding the mode', () => {
    expect(scheduleInput('DispatchRefunds', 'nightly', {})).toEqual({ schedule: 'nightly', mode: 'simulate', requestedBy: 'schedule:nightly' });
    expect(scheduleInput('DispatchRefunds', 'nightly', { mode: 'psp' })).toEqual({ schedule: 'nightly', mode: 'psp', requestedBy: 'schedule:nightly' });
  });

  it('refuses other workflows and unknown schedules', () => {
    expect(() => scheduleInput('WriteOff', 'nightly', {})).toThrow('DispatchRefunds only');
    expect(() => scheduleInput('DispatchRefunds', 'hourly', {})).toThrow('nightly');
  });
});

describe('mass-refund start exit code of a finished run', () => {
  it('exits 0 for a run that succeeded and 1 for one that completed with errors (something left undone)', () => {
    expect(exitCodeOfOutput({ runId: 'r', status: 'succeeded', errors: [] })).toBe(0);
    expect(exitCodeOfOutput({ runId: 'r', status: 'awaiting_approval', errors: [{ code: 'AwaitingApproval', message: '' }] })).toBe(0);
    expect(exitCodeOfOutput({ runId: 'r', status: 'completed_with_errors', errors: [{ code: 'OrderNotBooked', message: 'x' }] })).toBe(1);
    expect(exitCodeOfOutput(undefined)).toBe(0);
  });
});
