import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { listStateMachines, type CfnTemplate } from '../../../lib/local/template.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

/** The workflows whose work grows with the data: each can go on in new executions of its own state machine. */
const PAGED = ['CancelPerformance', 'PartialRefund', 'DispatchRefunds', 'ReconcileRefunds', 'WriteOff', 'SendEmails'];

describe('runs that continue in new executions (continue-as-new), in the synthesized stack', () => {
  const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as CfnTemplate & { Resources: Record<string, Resource> };
  const machines = listStateMachines(template, {});

  it.each(PAGED)('%s: a continued execution resumes first; the run goes on through states:startExecution of $$.StateMachine.Id, never .sync', (workflow) => {
    const machine = machines.find((m) => m.workflow === workflow)!;
    const states = machine.definition['States'] as Record<string, Record<string, unknown>>;
    expect(machine.definition['StartAt']).toBe('ContinuesRun');
    expect(states['ContinuesRun']).toMatchObject({ Type: 'Choice', Choices: [{ Variable: '$.continueRun', IsPresent: true, Next: 'ResumeRun' }] });
    expect(states['ContinueRun']).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::states:startExecution',
      Parameters: { 'StateMachineArn.$': '$$.StateMachine.Id', 'Name.$': '$.continuation.next.name', Input: { 'continueRun.$': '$.runId', 'part.$': '$.continuation.next.part' } },
    });
    expect(states['RunContinues']?.['Next']).toBe('Continued');
    expect(states['StartBudget']).toMatchObject({ Type: 'Pass', Result: { part: 1, callsLeft: 40 }, ResultPath: '$.continuation' });
  });

  it('lets each state machine start executions of itself only, named (its own ARN would make the role depend on it)', () => {
    const machineRoles = new Set(Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine').map((r) => (r.Properties.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]));
    // The state machines' own roles (the schedules' roles start executions too, of their one state machine).
    const policies = Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as { Ref: string }[]).some((role) => machineRoles.has(role.Ref)));
    const starts = policies.flatMap((p) =>
      ((p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement ?? []).filter((s) => [s.Action].flat().includes('states:StartExecution')),
    );
    expect(starts).toHaveLength(PAGED.length);
    const names = starts.map((s) => JSON.stringify(s.Resource).match(/stateMachine:(MassRefund-[A-Za-z]+)/)?.[1]).sort();
    expect(names).toEqual(PAGED.map((w) => `MassRefund-${w}`).sort());
    for (const s of starts) expect(JSON.stringify(s.Resource)).not.toContain('*');
  });
});
