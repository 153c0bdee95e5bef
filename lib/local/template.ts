/**
 * Reads a synthesized CloudFormation template (the output of `cdk synth`) so the local runtime
 * can execute exactly what would be deployed: state machine definitions, Lambda handler entries
 * with their environment, and DynamoDB table shapes.
 */
import { readFileSync } from 'node:fs';

export const LOCAL_REGION = 'local';
export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_PARTITION = 'aws';

/** Resource metadata key naming the handler module of a Lambda function. */
export const HANDLER_METADATA_KEY = 'mass-refund:handler';
/** Resource metadata key naming the workflow a state machine implements. */
export const WORKFLOW_METADATA_KEY = 'mass-refund:workflow';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Parameters?: Record<string, { Default?: unknown }>;
  [other: string]: unknown;
}

export interface IntrinsicContext {
  template: CfnTemplate;
  /** DynamoDB table logical id -> local physical table name (default: the logical id). */
  tableNames?: Record<string, string>;
  stackName?: string;
}

/** The template cannot be read or resolved locally. */
export class TemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateError';
  }
}

export interface LocalStateMachine {
  logicalId: string;
  workflow: string;
  /** StateMachineName property if set, else the logical id (used in execution ARNs). */
  name: string;
  arn: string;
  definition: Record<string, unknown>;
}

export interface LocalFunction {
  logicalId: string;
  /** Handler module path relative to the project root, e.g. functions/select.ts. */
  entry: string;
  /** Exported handler name. */
  handler: string;
  functionName: string;
  arn: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memorySizeMb: number;
  /** The function's Handler property, e.g. `index.handler`: the bundle's module and export. */
  handlerProperty: string;
  /** The S3 key of its code (`<asset hash>.zip`), which names its asset in the cloud assembly. */
  codeS3Key?: string;
  /** Runtime identifier, e.g. nodejs22.x. */
  runtime?: string;
}

export interface LocalTable {
  logicalId: string;
  resourceType: 'AWS::DynamoDB::Table' | 'AWS::DynamoDB::GlobalTable';
  /** Physical name to use locally (tableNames map, else the logical id). */
  tableName: string;
  /** Resolved properties, as in the template (KeySchema, AttributeDefinitions, GSIs, BillingMode...). */
  properties: Record<string, unknown>;
}

export function loadTemplate(path: string): CfnTemplate {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new TemplateError(`Cannot read CloudFormation template ${path}`, { cause: error });
  }
  if (!isObject(parsed) || !isObject(parsed['Resources'])) {
    throw new TemplateError(`${path} is not a CloudFormation template (no Resources)`);
  }
  return parsed as CfnTemplate;
}

export function functionArn(logicalId: string): string {
  return `arn:${LOCAL_PARTITION}:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${logicalId}`;
}

/** A secret's local ARN (its Ref on AWS is the ARN, which outputs and policies split). */
export function secretArn(logicalId: string): string {
  return `arn:${LOCAL_PARTITION}:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:secret:${logicalId}-local`;
}

export function stateMachineArn(name: string): string {
  return `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
}

function tableName(logicalId: string, ctx: IntrinsicContext): string {
  return ctx.tableNames?.[logicalId] ?? logicalId;
}

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves the CloudFormation intrinsics the project's templates use, with local stand-ins for
 * ARNs and names. Anything else fails with the path of the offending value.
 */
export function resolveIntrinsics(value: unknown, ctx: IntrinsicContext): unknown {
  const resolved = resolveAt(value, ctx, '$');
  return resolved === NO_VALUE ? undefined : resolved;
}

function resolveAt(value: unknown, ctx: IntrinsicContext, at: string): unknown {
  if (Array.isArray(value)) {
    return value.map((v, i) => resolveAt(v, ctx, `${at}[${i}]`)).filter((v) => v !== NO_VALUE);
  }
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  const onlyKey = keys.length === 1 ? keys[0] : undefined;
  if (onlyKey !== undefined && (onlyKey === 'Ref' || onlyKey.startsWith('Fn::'))) {
    return resolveIntrinsic(onlyKey, value[onlyKey], ctx, `${at}.${onlyKey}`);
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = resolveAt(value[key], ctx, `${at}.${key}`);
    if (v !== NO_VALUE) out[key] = v;
  }
  return out;
}

function resolveIntrinsic(fn: string, arg: unknown, ctx: IntrinsicContext, at: string): unknown {
  switch (fn) {
    case 'Ref':
      return resolveRef(expectString(arg, at), ctx, at);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = parseGetAtt(arg, at);
      return resolveGetAtt(logicalId, attribute, ctx, at);
    }
    case 'Fn::Join': {
      if (!Array.isArray(arg) || arg.length !== 2) throw new TemplateError(`${at}: Fn::Join expects [delimiter, list]`);
      const delimiter = expectString(arg[0], at);
      const list = resolveAt(arg[1], ctx, `${at}[1]`);
      if (!Array.isArray(list)) throw new TemplateError(`${at}: Fn::Join list did not resolve to an array`);
      return list.map((part, i) => expectString(part, `${at}[1][${i}]`)).join(delimiter);
    }
    case 'Fn::Sub':
      return resolveSub(arg, ctx, at);
    case 'Fn::Select': {
      if (!Array.isArray(arg) || arg.length !== 2) throw new TemplateError(`${at}: Fn::Select expects [index, list]`);
      const index = Number(resolveAt(arg[0], ctx, `${at}[0]`));
      const list = resolveAt(arg[1], ctx, `${at}[1]`);
      if (!Array.isArray(list) || !Number.isInteger(index) || index < 0 || index >= list.length) {
        throw new TemplateError(`${at}: Fn::Select index ${String(index)} out of range`);
      }
      return list[index];
    }
    case 'Fn::Split': {
      if (!Array.isArray(arg) || arg.length !== 2) throw new TemplateError(`${at}: Fn::Split expects [delimiter, source]`);
      const delimiter = expectString(arg[0], at);
      return expectString(resolveAt(arg[1], ctx, `${at}[1]`), at).split(delimiter);
    }
    default:
      throw new TemplateError(`${at}: intrinsic ${fn} is not supported by the local runtime`);
  }
}

function resolveRef(name: string, ctx: IntrinsicContext, at: string): unknown {
  switch (name) {
    case 'AWS::Partition':
      return LOCAL_PARTITION;
    case 'AWS::Region':
      return LOCAL_REGION;
    case 'AWS::AccountId':
      return LOCAL_ACCOUNT_ID;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return ctx.stackName ?? 'local';
    case 'AWS::StackId':
      return `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stack/${ctx.stackName ?? 'local'}/local`;
    case 'AWS::NoValue':
      return NO_VALUE;
  }
  const parameter = ctx.template.Parameters?.[name];
  if (parameter !== undefined) {
    if (parameter.Default === undefined) throw new TemplateError(`${at}: parameter ${name} has no Default`);
    return parameter.Default;
  }
  const resource = ctx.template.Resources[name];
  if (resource === undefined) throw new TemplateError(`${at}: Ref to unknown resource ${name}`);
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return name;
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      return tableName(name, ctx);
    case 'AWS::StepFunctions::StateMachine':
      return stateMachineArn(stateMachineName(name, resource));
    // Resources whose Ref is an ARN on AWS: outputs and policies split it.
    case 'AWS::SecretsManager::Secret':
      return secretArn(name);
    case 'AWS::SNS::Topic':
      return `arn:${LOCAL_PARTITION}:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
    default:
      // Role names, queue URLs, bucket names... are not needed locally beyond being stable.
      return name;
  }
}

function resolveGetAtt(logicalId: string, attribute: string, ctx: IntrinsicContext, at: string): unknown {
  const resource = ctx.template.Resources[logicalId];
  if (resource === undefined) throw new TemplateError(`${at}: Fn::GetAtt on unknown resource ${logicalId}`);
  const key = `${resource.Type}.${attribute}`;
  switch (key) {
    case 'AWS::Lambda::Function.Arn':
      return functionArn(logicalId);
    case 'AWS::DynamoDB::Table.Arn':
    case 'AWS::DynamoDB::GlobalTable.Arn':
      return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${tableName(logicalId, ctx)}`;
    case 'AWS::DynamoDB::Table.StreamArn':
    case 'AWS::DynamoDB::GlobalTable.StreamArn':
      return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${tableName(logicalId, ctx)}/stream/local`;
    case 'AWS::IAM::Role.Arn':
      return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${logicalId}`;
    case 'AWS::StepFunctions::StateMachine.Arn':
      return stateMachineArn(stateMachineName(logicalId, resource));
    case 'AWS::StepFunctions::StateMachine.Name':
      return stateMachineName(logicalId, resource);
    default:
      throw new TemplateError(`${at}: Fn::GetAtt ${logicalId}.${attribute} (${resource.Type}) is not supported locally`);
  }
}

function resolveSub(arg: unknown, ctx: IntrinsicContext, at: string): string {
  let template: string;
  let variables: Record<string, unknown> = {};
  if (typeof arg === 'string') {
    template = arg;
  } else if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && isObject(arg[1])) {
    template = arg[0];
    variables = resolveAt(arg[1], ctx, `${at}[1]`) as Record<string, unknown>;
  } else {
    throw new TemplateError(`${at}: Fn::Sub expects a string or [string, variables]`);
  }
  return template.replace(/\$\{([^}]*)\}/g, (_match, expr: string) => {
    if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
    if (expr in variables) return expectString(variables[expr], `${at}.\${${expr}}`);
    const dot = expr.indexOf('.');
    const value =
      dot > 0 && !expr.startsWith('AWS::')
        ? resolveGetAtt(expr.slice(0, dot), expr.slice(dot + 1), ctx, at)
        : resolveRef(expr, ctx, at);
    return expectString(value, `${at}.\${${expr}}`);
  });
}

function parseGetAtt(arg: unknown, at: string): [string, string] {
  if (typeof arg === 'string') {
    const dot = arg.indexOf('.');
    if (dot > 0) return [arg.slice(0, dot), arg.slice(dot + 1)];
  }
  if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && typeof arg[1] === 'string') {
    return [arg[0], arg[1]];
  }
  throw new TemplateError(`${at}: Fn::GetAtt expects [logicalId, attribute]`);
}

function stateMachineName(logicalId: string, resource: CfnResource): string {
  const name = resource.Properties?.['StateMachineName'];
  return typeof name === 'string' ? name : logicalId;
}

function expectString(value: unknown, at: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError(`${at}: expected a string, got ${JSON.stringify(value)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resourcesOfType(template: CfnTemplate, ...types: string[]): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => types.includes(r.Type));
}

function contextFor(template: CfnTemplate, ctx?: Omit<IntrinsicContext, 'template'>): IntrinsicContext {
  return { ...ctx, template };
}

/**
 * State machines tagged with `mass-refund:workflow` metadata; untagged ones (e.g. CDK internals)
 * are not workflows and are skipped. Definitions are resolved and parsed.
 */
export function listStateMachines(
  template: CfnTemplate,
  options?: Omit<IntrinsicContext, 'template'>,
): LocalStateMachine[] {
  const ctx = contextFor(template, options);
  const machines: LocalStateMachine[] = [];
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::StepFunctions::StateMachine')) {
    const workflow = resource.Metadata?.[WORKFLOW_METADATA_KEY];
    if (workflow === undefined) continue;
    if (typeof workflow !== 'string' || workflow === '') {
      throw new TemplateError(`${logicalId}: ${WORKFLOW_METADATA_KEY} metadata must be a non-empty string`);
    }
    const props = resource.Properties ?? {};
    const definition = parseDefinition(logicalId, props, ctx);
    const name = stateMachineName(logicalId, resource);
    if (machines.some((m) => m.workflow === workflow)) {
      throw new TemplateError(`Workflow ${workflow} is defined by more than one state machine (${logicalId})`);
    }
    machines.push({ logicalId, workflow, name, arn: stateMachineArn(name), definition });
  }
  return machines;
}

function parseDefinition(logicalId: string, props: Record<string, unknown>, ctx: IntrinsicContext): Record<string, unknown> {
  let text: string;
  if (props['DefinitionString'] !== undefined) {
    const resolved = resolveIntrinsics(props['DefinitionString'], ctx);
    if (typeof resolved !== 'string') throw new TemplateError(`${logicalId}: DefinitionString did not resolve to a string`);
    text = resolved;
  } else if (isObject(props['Definition'])) {
    text = JSON.stringify(resolveIntrinsics(props['Definition'], ctx));
  } else {
    throw new TemplateError(`${logicalId}: no DefinitionString or Definition (DefinitionS3Location is not supported locally)`);
  }
  const substitutions = props['DefinitionSubstitutions'];
  if (isObject(substitutions)) {
    const values = resolveIntrinsics(substitutions, ctx) as Record<string, unknown>;
    text = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (match, key: string) =>
      key in values ? expectString(values[key], `${logicalId}.DefinitionSubstitutions.${key}`) : match,
    );
  }
  try {
    const definition: unknown = JSON.parse(text);
    if (!isObject(definition)) throw new TemplateError(`${logicalId}: definition is not a JSON object`);
    return definition;
  } catch (error) {
    if (error instanceof TemplateError) throw error;
    throw new TemplateError(`${logicalId}: definition is not valid JSON`, { cause: error });
  }
}

/** Lambda functions tagged with `mass-refund:handler` metadata, with their environment resolved. */
export function listFunctions(template: CfnTemplate, options?: Omit<IntrinsicContext, 'template'>): LocalFunction[] {
  const ctx = contextFor(template, options);
  const functions: LocalFunction[] = [];
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const meta = resource.Metadata?.[HANDLER_METADATA_KEY];
    if (meta === undefined) continue;
    if (!isObject(meta) || typeof meta['entry'] !== 'string' || typeof meta['handler'] !== 'string') {
      throw new TemplateError(`${logicalId}: ${HANDLER_METADATA_KEY} metadata must be {entry: string, handler: string}`);
    }
    const props = resource.Properties ?? {};
    const variables = resolveIntrinsics((props['Environment'] as { Variables?: unknown } | undefined)?.Variables ?? {}, ctx);
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(variables as Record<string, unknown>)) {
      environment[key] = expectString(value, `${logicalId}.Environment.Variables.${key}`);
    }
    const name = resolveIntrinsics(props['FunctionName'], ctx);
    const code = props['Code'] as { S3Key?: unknown } | undefined;
    functions.push({
      logicalId,
      entry: meta['entry'],
      handler: meta['handler'],
      functionName: typeof name === 'string' ? name : logicalId,
      arn: functionArn(logicalId),
      environment,
      timeoutSeconds: typeof props['Timeout'] === 'number' ? props['Timeout'] : 3,
      memorySizeMb: typeof props['MemorySize'] === 'number' ? props['MemorySize'] : 128,
      handlerProperty: typeof props['Handler'] === 'string' ? props['Handler'] : 'index.handler',
      ...(typeof code?.S3Key === 'string' ? { codeS3Key: code.S3Key } : {}),
      ...(typeof props['Runtime'] === 'string' ? { runtime: props['Runtime'] } : {}),
    });
  }
  return functions;
}

const TABLE_PROPERTIES = [
  'TableName',
  'KeySchema',
  'AttributeDefinitions',
  'GlobalSecondaryIndexes',
  'LocalSecondaryIndexes',
  'BillingMode',
  'ProvisionedThroughput',
  'WriteProvisionedThroughputSettings',
  'StreamSpecification',
  'TimeToLiveSpecification',
];

/** DynamoDB tables, with the properties DynamoDB Local needs to create them. */
export function listTables(template: CfnTemplate, options?: Omit<IntrinsicContext, 'template'>): LocalTable[] {
  const ctx = contextFor(template, options);
  return resourcesOfType(template, 'AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable').map(([logicalId, resource]) => {
    const picked: Record<string, unknown> = {};
    for (const key of TABLE_PROPERTIES) {
      const value = resource.Properties?.[key];
      if (value !== undefined) picked[key] = resolveIntrinsics(value, { ...ctx });
    }
    return {
      logicalId,
      resourceType: resource.Type as LocalTable['resourceType'],
      tableName: tableName(logicalId, ctx),
      properties: picked,
    };
  });
}
