import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('DispatchRefunds in the synthesized stack', () => {
  const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as { Resources: Record<string, Resource> };
  const resources = Object.values(template.Resources);

  it('schedules one nightly run in Europe/Zurich with the input `mass-refund start DispatchRefunds --schedule nightly` builds', async () => {
    const { scheduleInput } = await import('../../../lib/cli/start.ts');
    // The DispatchRefunds schedules (SendEmails has its own, every few minutes).
    const schedules = resources.filter((r) => r.Type === 'AWS::Scheduler::Schedule' && (JSON.parse((r.Properties.Target as { Input: string }).Input) as { schedule?: string }).schedule !== undefined);
    const passes = schedules.map((s) => {
      const target = s.Properties.Target as { Input: string };
      return { expression: s.Properties.ScheduleExpression, tz: s.Properties.ScheduleExpressionTimezone, input: JSON.parse(target.Input) as Record<string, unknown> };
    });
    expect(passes).toEqual([{ expression: 'cron(0 2 * * ? *)', tz: 'Europe/Zurich', input: { schedule: 'nightly', requestedBy: 'schedule:nightly' } }]);
    expect(passes[0]?.input).toEqual(scheduleInput('DispatchRefunds', 'nightly', undefined));
  });

  it('reconciles first in the same run, with Lambda tasks and only its own continuation besides (the definition runs locally as on AWS)', () => {
    const machine = resources.find((r) => r.Type === 'AWS::StepFunctions::StateMachine' && JSON.stringify(r).includes('ReconcileFirstSegments'));
    const definition = JSON.stringify(machine?.Properties.DefinitionString ?? '');
    expect(definition).toContain('ReconcileFirst');
    expect(definition).not.toMatch(/JSONata|\\"Assign\\"|startExecution\.sync|waitForTaskToken/);
    // The one non-Lambda task: the run going on in a new execution of this same state machine.
    expect(definition.match(/states:::states:startExecution/g)).toHaveLength(1);
    expect(definition).toContain('StateMachineArn.$\\":\\"$$.StateMachine.Id');
  });

  it('gives the PSP secret to the PSP stages only', () => {
    const fns = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
    const withSecret = fns.filter((f) => JSON.stringify((f.Properties.Environment as { Variables?: unknown })?.Variables ?? {}).includes('PSP_SECRET_ARN'));
    expect(withSecret.length).toBe(3); // the DispatchRefunds page, its reconcile-first page, the ReconcileRefunds page
  });
});
