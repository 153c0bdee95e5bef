import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('DispatchRefunds in the synthesized stack', () => {
  const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as { Resources: Record<string, Resource> };
  const resources = Object.values(template.Resources);

  it('schedules nightly simulate, psp and credit passes in Europe/Zurich with the schedule input', () => {
    const schedules = resources.filter((r) => r.Type === 'AWS::Scheduler::Schedule');
    const passes = schedules.map((s) => {
      const target = s.Properties.Target as { Input: string };
      return { expression: s.Properties.ScheduleExpression, tz: s.Properties.ScheduleExpressionTimezone, input: JSON.parse(target.Input) as Record<string, unknown> };
    });
    expect(passes).toEqual(
      expect.arrayContaining([
        { expression: 'cron(0 2 * * ? *)', tz: 'Europe/Zurich', input: { schedule: 'nightly', mode: 'simulate', requestedBy: 'schedule:nightly' } },
        { expression: 'cron(30 2 * * ? *)', tz: 'Europe/Zurich', input: { schedule: 'nightly', mode: 'psp', requestedBy: 'schedule:nightly' } },
        { expression: 'cron(0 3 * * ? *)', tz: 'Europe/Zurich', input: { schedule: 'nightly', mode: 'credit', requestedBy: 'schedule:nightly' } },
      ]),
    );
  });

  it('gives the PSP secret to the PSP stages only', () => {
    const fns = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
    const withSecret = fns.filter((f) => JSON.stringify((f.Properties.Environment as { Variables?: unknown })?.Variables ?? {}).includes('PSP_SECRET_ARN'));
    expect(withSecret.length).toBe(2); // DispatchRefunds and ReconcileRefunds page stages
  });
});
