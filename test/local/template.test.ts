import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  TemplateError,
  listFunctions,
  listStateMachines,
  listTables,
  loadTemplate,
  resolveIntrinsics,
  type CfnTemplate,
} from '../../lib/local/template.ts';
import { MAIN_WORKFLOW, synthFixture } from './fixtures/app.ts';

const template: CfnTemplate = {
  Resources: {
    Orders: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] } },
    SelectFn: { Type: 'AWS::Lambda::Function', Properties: {} },
    Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: 'cancel' } },
    Key: { Type: 'AWS::KMS::Key' },
  },
  Parameters: { Stage: { Default: 'dev' } },
};
const ctx = { template, tableNames: { Orders: 'orders-local' } };

describe('resolveIntrinsics', () => {
  it('resolves Fn::Join of GetAtt, Ref and pseudo parameters to local stand-ins', () => {
    // prepare
    const value = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':x:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, '|', { 'Fn::GetAtt': ['SelectFn', 'Arn'] }, '|', { Ref: 'Orders' }]],
    };
    // act
    const resolved = resolveIntrinsics(value, ctx);
    // assess
    expect(resolved).toBe('arn:aws:x:local:000000000000|arn:aws:lambda:local:000000000000:function:SelectFn|orders-local');
  });

  it('resolves Fn::Sub with references, attributes, variables and escapes', () => {
    // prepare
    const value = { 'Fn::Sub': ['${Orders}/${SelectFn.Arn}/${AWS::Region}/${Who}/${!Literal}/${Stage}', { Who: { Ref: 'Machine' } }] };
    // act
    const resolved = resolveIntrinsics(value, ctx);
    // assess
    expect(resolved).toBe(
      'orders-local/arn:aws:lambda:local:000000000000:function:SelectFn/local/arn:aws:states:local:000000000000:stateMachine:cancel/${Literal}/dev',
    );
  });

  it('defaults a table Ref to its logical id and drops AWS::NoValue', () => {
    // act
    const resolved = resolveIntrinsics({ table: { Ref: 'Orders' }, gone: { Ref: 'AWS::NoValue' } }, { template });
    // assess
    expect(resolved).toEqual({ table: 'Orders' });
  });

  it.each([
    [{ 'Fn::If': ['IsProd', 'a', 'b'] }, 'intrinsic Fn::If is not supported'],
    [{ 'Fn::GetAtt': ['Key', 'Arn'] }, 'Fn::GetAtt Key.Arn (AWS::KMS::Key) is not supported'],
    [{ Ref: 'Missing' }, 'Ref to unknown resource Missing'],
  ])('refuses %j with a clear error', (value, message) => {
    // act / assess
    expect(() => resolveIntrinsics({ nested: [value] }, ctx)).toThrow(TemplateError);
    expect(() => resolveIntrinsics({ nested: [value] }, ctx)).toThrow(message);
  });
});

describe('reading the synthesized fixture', () => {
  let synthesized: CfnTemplate;
  beforeAll(() => {
    synthesized = synthFixture().main as CfnTemplate;
  });

  it('lists the tagged state machine with its definition parsed and function ARNs resolved', () => {
    // act
    const [machine, ...others] = listStateMachines(synthesized);
    // assess
    expect(others).toEqual([]);
    expect(machine?.workflow).toBe(MAIN_WORKFLOW);
    const states = machine?.definition['States'] as Record<string, { Resource?: string; Parameters?: { FunctionName?: string } }>;
    expect(states['ListShards']?.Resource).toMatch(/^arn:aws:lambda:local:000000000000:function:ListShardsFn/);
    expect(states['ConfirmRun']?.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(states['ConfirmRun']?.Parameters?.FunctionName).toMatch(/:function:ConfirmRunFn/);
  });

  it('lists the functions with handler entries and resolved environment', () => {
    // prepare
    const tableId = listTables(synthesized)[0]?.logicalId ?? '';
    // act
    const functions = listFunctions(synthesized, { tableNames: { [tableId]: 'orders-local' } });
    // assess
    expect(functions.map((f) => f.entry).sort()).toEqual(['functions/confirm-run.ts', 'functions/list-shards.ts', 'functions/page-orders.ts']);
    for (const fn of functions) {
      expect(fn.handler).toBe('handler');
      expect(fn.environment).toEqual({ ORDERS_TABLE: 'orders-local', STAGE: 'fixture' });
      expect(fn.timeoutSeconds).toBe(30);
    }
  });

  it('lists the tables with what DynamoDB Local needs to create them', () => {
    // act
    const [table] = listTables(synthesized, {});
    // assess
    expect(table?.tableName).toBe(table?.logicalId);
    expect(table?.properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [expect.objectContaining({ IndexName: 'byStatus' })],
    });
    expect(table?.properties['AttributeDefinitions']).toHaveLength(4);
  });

  it('loads a template file and resolves DefinitionSubstitutions', () => {
    // prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'runner-template-'));
    const file = path.join(dir, 'stack.template.json');
    const withSubstitutions = {
      Resources: {
        ...template.Resources,
        FromFile: {
          Type: 'AWS::StepFunctions::StateMachine',
          Metadata: { 'mass-refund:workflow': 'WriteOffVouchers' },
          Properties: {
            DefinitionString: '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${SelectArn}","End":true}}}',
            DefinitionSubstitutions: { SelectArn: { 'Fn::GetAtt': ['SelectFn', 'Arn'] } },
          },
        },
      },
    };
    writeFileSync(file, JSON.stringify(withSubstitutions));
    try {
      // act
      const machines = listStateMachines(loadTemplate(file));
      // assess
      expect(machines).toHaveLength(1); // the untagged Machine is not a workflow
      expect(machines[0]?.definition).toEqual({
        StartAt: 'A',
        States: { A: { Type: 'Task', Resource: 'arn:aws:lambda:local:000000000000:function:SelectFn', End: true } },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file that is not a template', () => {
    // prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'runner-template-'));
    const file = path.join(dir, 'x.json');
    writeFileSync(file, '{"hello":1}');
    try {
      // act / assess
      expect(() => loadTemplate(file)).toThrow('is not a CloudFormation template');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
