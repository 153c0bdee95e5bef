/**
 * EventBridge, locally: the AWS::Events::Rule resources of the synthesized template, their event
 * patterns and their Lambda targets, so an event the local runtime emits (a Step Functions
 * execution status change) reaches the same handlers it reaches on AWS.
 */
import { randomUUID } from 'node:crypto';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  resolveIntrinsics,
  TemplateError,
  type CfnTemplate,
  type IntrinsicContext,
  type LocalFunction,
} from './template.ts';

/** An event on the default bus, in the envelope EventBridge delivers to targets. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface LocalRuleTarget {
  id: string;
  arn: string;
  /** The Lambda function behind `arn`, when it is one the local runtime can call. */
  fn?: LocalFunction;
  /** Constant JSON text sent instead of the event (target `Input`). */
  input?: string;
  /** JSONPath of the part of the event sent (target `InputPath`), `$` or `$.a.b`. */
  inputPath?: string;
  /** Why this target cannot be delivered to locally (non-Lambda, InputTransformer…). */
  unsupported?: string;
}

export interface LocalRule {
  logicalId: string;
  pattern: Record<string, unknown>;
  targets: LocalRuleTarget[];
}

/** One delivery of an event to one target, as the local bus did it. */
export interface EventDelivery {
  rule: string;
  target: string;
  delivered: boolean;
  attempts: number;
  error?: string;
}

/** How the bus calls a Lambda target (an asynchronous invocation: the result is not used). */
export type InvokeTarget = (fn: LocalFunction, event: unknown) => Promise<unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Enabled rules on the default event bus that have an event pattern (scheduled rules are not
 * events). Targets are mapped to the template's functions by ARN.
 */
export function listEventRules(template: CfnTemplate, functions: LocalFunction[], options?: Omit<IntrinsicContext, 'template'>): LocalRule[] {
  const ctx: IntrinsicContext = { ...options, template };
  const byArn = new Map(functions.map((f) => [f.arn, f]));
  const rules: LocalRule[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const props = resource.Properties ?? {};
    if (props['EventPattern'] === undefined) continue;
    if ((props['State'] ?? 'ENABLED') !== 'ENABLED') continue;
    const bus = props['EventBusName'] === undefined ? 'default' : resolveIntrinsics(props['EventBusName'], ctx);
    if (bus !== 'default') continue;
    const resolved = resolveIntrinsics(props['EventPattern'], ctx);
    const pattern = typeof resolved === 'string' ? (JSON.parse(resolved) as unknown) : resolved; // CloudFormation takes JSON text too
    if (!isObject(pattern)) throw new TemplateError(`${logicalId}: EventPattern must be a JSON object`);
    checkPattern(pattern, `${logicalId}.EventPattern`);
    const targets = ((props['Targets'] as unknown[] | undefined) ?? []).map((raw, i): LocalRuleTarget => {
      // Only what delivery needs: retry policies and dead-letter queues have no local counterpart.
      const given = isObject(raw) ? raw : {};
      const target = Object.fromEntries(['Arn', 'Id', 'Input', 'InputPath', 'InputTransformer'].filter((k) => given[k] !== undefined).map((k) => [k, k === 'InputTransformer' ? given[k] : resolveIntrinsics(given[k], ctx)]));
      const arn = String(target['Arn']);
      const id = typeof target['Id'] === 'string' ? target['Id'] : `Target${i}`;
      // An alias or version ARN (function:Name:alias) calls the same handler locally.
      const fn = byArn.get(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+)(:[^:]+)?$/.exec(arn)?.[1] ?? arn);
      const out: LocalRuleTarget = { id, arn, ...(fn ? { fn } : {}) };
      if (typeof target['Input'] === 'string') out.input = target['Input'];
      if (typeof target['InputPath'] === 'string') out.inputPath = target['InputPath'];
      if (!fn) out.unsupported = `${arn} is not a Lambda function with mass-refund:handler metadata`;
      else if (target['InputTransformer'] !== undefined) out.unsupported = 'InputTransformer is not supported locally';
      else if (out.inputPath !== undefined && !/^\$(\.[A-Za-z0-9_-]+)*$/.test(out.inputPath)) out.unsupported = `InputPath ${out.inputPath} is not supported locally`;
      return out;
    });
    rules.push({ logicalId, pattern, targets });
  }
  return rules;
}

const MATCHERS = new Set(['prefix', 'suffix', 'anything-but', 'exists', 'equals-ignore-case', 'numeric']);

/** Refuses loudly what the local matcher does not implement ($or, wildcard, cidr…), instead of matching wrongly. */
function checkPattern(pattern: Record<string, unknown>, at: string): void {
  for (const [key, value] of Object.entries(pattern)) {
    if (key.startsWith('$')) throw new TemplateError(`${at}.${key}: ${key} is not supported by the local event bus`);
    if (Array.isArray(value)) {
      for (const v of value) {
        if (!isObject(v)) continue;
        const [name, extra] = Object.keys(v);
        if (name === undefined || extra !== undefined || !MATCHERS.has(name)) {
          throw new TemplateError(`${at}.${key}: content filter ${JSON.stringify(v)} is not supported by the local event bus`);
        }
      }
    } else if (isObject(value)) {
      checkPattern(value, `${at}.${key}`);
    } else {
      throw new TemplateError(`${at}.${key}: a pattern value must be an array or an object`);
    }
  }
}

/** EventBridge's matching: every field of the pattern matches; a list matches if any of its values does. */
export function matchesPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  if (!isObject(event)) return false;
  for (const [key, expected] of Object.entries(pattern)) {
    const actual = event[key];
    if (isObject(expected)) {
      if (!matchesPattern(expected, actual)) return false;
      continue;
    }
    const values = Array.isArray(actual) ? actual : [actual];
    const alternatives = expected as unknown[];
    const existence = alternatives.find((a) => isObject(a) && 'exists' in a) as { exists: boolean } | undefined;
    if (existence) {
      if ((actual !== undefined) !== existence.exists) return false;
      continue;
    }
    if (actual === undefined) return false;
    if (!values.some((v) => alternatives.some((a) => matchesValue(a, v)))) return false;
  }
  return true;
}

function matchesValue(expected: unknown, actual: unknown): boolean {
  if (!isObject(expected)) return expected === actual;
  if ('prefix' in expected) return typeof actual === 'string' && actual.startsWith(String(expected['prefix']));
  if ('suffix' in expected) return typeof actual === 'string' && actual.endsWith(String(expected['suffix']));
  if ('equals-ignore-case' in expected) return typeof actual === 'string' && actual.toLowerCase() === String(expected['equals-ignore-case']).toLowerCase();
  if ('anything-but' in expected) {
    const but = expected['anything-but'];
    if (isObject(but)) return 'prefix' in but ? !(typeof actual === 'string' && actual.startsWith(String(but['prefix']))) : true;
    return !(Array.isArray(but) ? but : [but]).includes(actual);
  }
  if ('numeric' in expected) {
    if (typeof actual !== 'number') return false;
    const ops = expected['numeric'] as unknown[];
    for (let i = 0; i + 1 < ops.length; i += 2) {
      const [op, bound] = [ops[i], Number(ops[i + 1])];
      const ok = op === '<' ? actual < bound : op === '<=' ? actual <= bound : op === '>' ? actual > bound : op === '>=' ? actual >= bound : op === '=' ? actual === bound : false;
      if (!ok) return false;
    }
    return true;
  }
  return false;
}

/** What Step Functions knows when an execution's status changes. */
export interface ExecutionStatusChange {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: number;
  stopDate?: number;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
}

/** The "Step Functions Execution Status Change" event, shaped as Step Functions sends it to EventBridge. */
export function executionStatusChangeEvent(change: ExecutionStatusChange): BusEvent {
  const ended = change.status !== 'RUNNING';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: LOCAL_ACCOUNT_ID,
    time: new Date((ended ? change.stopDate : undefined) ?? change.startDate).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [change.executionArn],
    detail: {
      executionArn: change.executionArn,
      stateMachineArn: change.stateMachineArn,
      name: change.name,
      status: change.status,
      startDate: change.startDate,
      stopDate: ended ? (change.stopDate ?? null) : null,
      input: JSON.stringify(change.input ?? {}),
      output: change.status === 'SUCCEEDED' ? JSON.stringify(change.output ?? null) : null,
      inputDetails: { included: true },
      outputDetails: change.status === 'SUCCEEDED' ? { included: true } : null,
      error: change.error ?? null,
      cause: change.cause ?? null,
    },
  };
}

/** Lambda retries a failed asynchronous invocation twice. */
const ASYNC_ATTEMPTS = 3;

/**
 * The default event bus of the local runtime: puts an event to every matching rule's targets and
 * waits for the deliveries (on AWS they are asynchronous; locally, waiting keeps runs reproducible).
 */
export class LocalEventBus {
  readonly #rules: LocalRule[];
  readonly #invoke: InvokeTarget;

  constructor(rules: LocalRule[], invoke: InvokeTarget) {
    this.#rules = rules;
    this.#invoke = invoke;
  }

  /** Functions some rule may invoke (the runner prepares their environment). */
  targetFunctions(): LocalFunction[] {
    return this.#rules.flatMap((r) => r.targets.flatMap((t) => (t.fn ? [t.fn] : [])));
  }

  async put(event: BusEvent): Promise<EventDelivery[]> {
    const deliveries: Promise<EventDelivery>[] = [];
    for (const rule of this.#rules) {
      if (!matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets) deliveries.push(this.#deliver(rule, target, event));
    }
    return Promise.all(deliveries);
  }

  async #deliver(rule: LocalRule, target: LocalRuleTarget, event: BusEvent): Promise<EventDelivery> {
    const base = { rule: rule.logicalId, target: target.id };
    if (target.unsupported || !target.fn) return { ...base, delivered: false, attempts: 0, error: target.unsupported ?? 'no function' };
    const payload = target.input !== undefined ? (JSON.parse(target.input) as unknown) : pick(event, target.inputPath ?? '$');
    let error: unknown;
    for (let attempt = 1; attempt <= ASYNC_ATTEMPTS; attempt++) {
      try {
        await this.#invoke(target.fn, structuredClone(payload));
        return { ...base, delivered: true, attempts: attempt };
      } catch (e) {
        error = e;
      }
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ...base, delivered: false, attempts: ASYNC_ATTEMPTS, error: message };
  }
}

function pick(event: unknown, path: string): unknown {
  let value = event;
  for (const part of path.split('.').slice(1)) value = isObject(value) ? value[part] : undefined;
  return value;
}
