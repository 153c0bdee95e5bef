import { readFileSync } from 'node:fs';
import { describe, expect, it, inject } from 'vitest';
import { WORKFLOWS } from '../../infra/workflows/index.ts';
import { preflight } from '../../lib/local/preflight.ts';
import { listStateMachines, type CfnTemplate } from '../../lib/local/template.ts';

describe('the synthesized stack', () => {
  it('has a state machine for every workflow, and each passes the local runner preflight', () => {
    // prepare: the template `cdk synth` produced for the test run (global setup)
    const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as CfnTemplate;
    // act
    const machines = listStateMachines(template);
    // assess
    expect(machines.map((m) => m.workflow).sort()).toEqual(Object.keys(WORKFLOWS).sort());
    for (const m of machines) expect(() => preflight(m.definition, { workflow: m.workflow })).not.toThrow();
  });
});
