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
