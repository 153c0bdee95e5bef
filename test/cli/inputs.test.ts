import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { exampleFile, INPUT_DOCS, inputValidator, renderInputDocs, schemaFile, WORKFLOW_NAMES } from '../../lib/cli/inputs.ts';
import { PROJECT_ROOT } from '../../lib/local/paths.ts';
import { listStateMachines, type CfnTemplate } from '../../lib/local/template.ts';

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

describe('the console input of each workflow, documented', () => {
  it('docs/inputs/ is what `npm run inputs` generates from the zod schemas (run it after changing an input)', async () => {
    const files = await renderInputDocs();
    expect(Object.keys(files)).toHaveLength(WORKFLOW_NAMES.length * 2);
    for (const [file, text] of Object.entries(files)) expect(read(file), `${file} is stale: npm run inputs`).toBe(text);
  });

  it.each(WORKFLOW_NAMES)('%s: the example passes the first state\'s validator and the JSON Schema; an unknown field fails both', async (workflow) => {
    // prepare
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    const validate = ajv.compile(JSON.parse(read(schemaFile(workflow))) as object);
    const example = JSON.parse(read(exampleFile(workflow))) as Record<string, unknown>;
    const { parse } = await inputValidator(workflow);
    // act and assess
    expect(() => parse(example)).not.toThrow();
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    const unknownField = { ...example, dryRun: true };
    expect(() => parse(unknownField)).toThrow(/dryRun/);
    expect(validate(unknownField)).toBe(false);
  });

  it('describes every field the schema has', async () => {
    for (const workflow of WORKFLOW_NAMES) {
      const schema = JSON.parse(read(schemaFile(workflow))) as { properties: Record<string, { description?: string }> };
      for (const [field, shape] of Object.entries(schema.properties)) expect(shape.description, `${workflow}.${field}`).toBeTruthy();
      expect(Object.keys(INPUT_DOCS[workflow].example).every((k) => k in schema.properties)).toBe(true);
    }
  });

  it('knows the workflows the stack deploys, and each state machine\'s comment links its input documentation', async () => {
    const { WORKFLOWS } = await import('../../infra/workflows/index.ts');
    expect([...WORKFLOW_NAMES].sort()).toEqual(Object.keys(WORKFLOWS).sort());
    const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as CfnTemplate;
    for (const machine of listStateMachines(template)) {
      expect(machine.definition.Comment, machine.workflow).toContain(schemaFile(machine.workflow));
      expect(machine.definition.Comment, machine.workflow).toContain(exampleFile(machine.workflow));
    }
  });

  it('the README links the input documentation', () => {
    const readme = read('README.md');
    expect(readme).toContain('docs/inputs/');
    for (const workflow of WORKFLOW_NAMES) expect(readme, workflow).toContain(`docs/inputs/${workflow}.schema.json`);
  });
});
