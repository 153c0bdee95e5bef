/**
 * Refuses, before running, any state machine definition that aws-local-stepfunctions would not
 * execute faithfully (it silently ignores or mis-runs several features: see shared TOOLCHAIN.md).
 * A workflow that passes here runs locally the way it runs in AWS.
 */
import { createRequire } from 'node:module';

/** One state (or the definition itself) using a feature the local runtime cannot honour. */
export interface UnsupportedFeature {
  /** Dotted path inside the definition, e.g. States.ProcessShards.ItemProcessor.States.PageOrders. */
  path: string;
  /** State name, absent for definition-level findings. */
  state?: string;
  feature: string;
  detail?: string;
}

export class UnsupportedDefinitionError extends Error {
  readonly workflow: string;
  readonly issues: UnsupportedFeature[];
  constructor(workflow: string, issues: UnsupportedFeature[], options?: { cause?: unknown }) {
    super(
      `Workflow ${workflow} cannot run locally (${issues.length} problem(s)):\n` +
        issues
          .map((i) => ` - ${i.state !== undefined ? `state "${i.state}"` : 'definition'} at ${i.path}: ${i.feature}${i.detail ? ` (${i.detail})` : ''}`)
          .join('\n'),
      options,
    );
    this.name = 'UnsupportedDefinitionError';
    this.workflow = workflow;
    this.issues = issues;
  }
}

type AslValidator = (
  definition: unknown,
  options: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errors: { 'Error code': string; Message: string }[] };

// asl-validator is CommonJS without type declarations.
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
/** The optimized Step Functions integration without .sync or a task token: start an execution and go on (nested-executions.ts). */
const START_EXECUTION = 'arn:aws:states:::states:startExecution';
const LAMBDA_FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[^:]*:\d*:function:[^:]+(:[^:]+)?$/;

/** Fields that only exist in JSONata states (or variables), which the library ignores or rejects. */
const JSONATA_FIELDS = ['Arguments', 'Output', 'Assign', 'Items'] as const;
const DISTRIBUTED_MAP_FIELDS = [
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
] as const;

export function preflight(definition: unknown, opts: { workflow: string }): void {
  const issues = [...findUnsupportedFeatures(definition), ...validateAsl(definition)];
  if (issues.length > 0) throw new UnsupportedDefinitionError(opts.workflow, issues);
}

/** ASL validation findings (asl-validator 4, JSONPath and ARN checks on). */
export function validateAsl(definition: unknown): UnsupportedFeature[] {
  // The validator writes QueryLanguage into every state: give it a copy.
  const result = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
  return result.errors.map((e) => ({ path: '$', feature: `invalid ASL: ${e['Error code']}`, detail: e.Message }));
}

export function findUnsupportedFeatures(definition: unknown): UnsupportedFeature[] {
  const issues: UnsupportedFeature[] = [];
  if (!isObject(definition)) return [{ path: '$', feature: 'definition is not a JSON object' }];
  checkMachine(definition, '', issues);
  return issues;
}

function checkMachine(machine: Record<string, unknown>, prefix: string, issues: UnsupportedFeature[]): void {
  const at = prefix === '' ? '$' : prefix;
  if (machine['QueryLanguage'] === 'JSONata') {
    issues.push({ path: at, feature: 'QueryLanguage JSONata', detail: 'only JSONPath runs locally' });
  }
  const states = machine['States'];
  if (!isObject(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state)) continue;
    checkState(name, state, `${prefix === '' ? '' : `${prefix}.`}States.${name}`, issues);
  }
}

function checkState(name: string, state: Record<string, unknown>, path: string, issues: UnsupportedFeature[]): void {
  const add = (feature: string, detail?: string) =>
    issues.push(detail === undefined ? { path, state: name, feature } : { path, state: name, feature, detail });

  if (state['QueryLanguage'] === 'JSONata') add('QueryLanguage JSONata', 'only JSONPath runs locally');
  for (const field of JSONATA_FIELDS) {
    if (field in state) add(field, field === 'Assign' ? 'variables are not supported locally' : 'JSONata-only field');
  }
  if ('Credentials' in state) add('Credentials', 'cross-account task credentials are not emulated');

  const type = state['Type'];
  if (type === 'Choice' && Array.isArray(state['Choices'])) {
    state['Choices'].forEach((rule, i) => {
      if (isObject(rule) && ('Condition' in rule || 'Assign' in rule || 'Output' in rule)) {
        add(`Choices[${i}] JSONata Condition/Assign/Output`);
      }
    });
  }
  if (type === 'Task') checkTaskResource(state, add);
  if (type === 'Map') {
    for (const field of DISTRIBUTED_MAP_FIELDS) if (field in state) add(field, 'Distributed Map feature');
    const processor = state['ItemProcessor'] ?? state['Iterator'];
    if (isObject(processor)) {
      const mode = isObject(processor['ProcessorConfig']) ? processor['ProcessorConfig']['Mode'] : undefined;
      if (mode === 'DISTRIBUTED') add('ItemProcessor.ProcessorConfig.Mode DISTRIBUTED', 'Distributed Map runs as an inline Map locally');
      checkMachine(processor, `${path}.${'ItemProcessor' in state ? 'ItemProcessor' : 'Iterator'}`, issues);
    }
  }
  if (type === 'Parallel' && Array.isArray(state['Branches'])) {
    state['Branches'].forEach((branch, i) => {
      if (isObject(branch)) checkMachine(branch, `${path}.Branches[${i}]`, issues);
    });
  }
}

function checkTaskResource(state: Record<string, unknown>, add: (feature: string, detail?: string) => void): void {
  const resource = state['Resource'];
  if (typeof resource !== 'string') return; // asl-validator reports it
  if (LAMBDA_FUNCTION_ARN.test(resource)) return;
  if (resource === START_EXECUTION) {
    checkStartExecution(state, add);
    return;
  }
  if (resource !== LAMBDA_INVOKE) {
    add(`Task Resource ${resource}`, 'only Lambda (lambda:invoke or a function ARN) and states:startExecution (Request Response) run locally');
    return;
  }
  const params = state['Parameters'];
  if (!isObject(params)) {
    add('lambda:invoke without Parameters', 'FunctionName is required');
    return;
  }
  if ('FunctionName.$' in params) add('lambda:invoke with a dynamic FunctionName.$', 'the local handler must be known before the run');
  else if (typeof params['FunctionName'] !== 'string') add('lambda:invoke without FunctionName');
  const invocationType = params['InvocationType'];
  if (invocationType !== undefined && invocationType !== 'RequestResponse') {
    add(`lambda:invoke InvocationType ${String(invocationType)}`, 'only RequestResponse is emulated');
  }
}

function checkStartExecution(state: Record<string, unknown>, add: (feature: string, detail?: string) => void): void {
  const params = state['Parameters'];
  if (!isObject(params) || (typeof params['StateMachineArn'] !== 'string' && typeof params['StateMachineArn.$'] !== 'string')) {
    add('states:startExecution without StateMachineArn');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
