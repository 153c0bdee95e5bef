import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { DomainError, ValidationError, type FieldIssue } from '../../lib/core/errors.ts';
import { logger, metrics } from './powertools.ts';

/** A store error that clears by itself (throttling, transaction conflict): the state machine retries it. */
export class TransientStoreError extends DomainError {
  override readonly name: string = 'TransientStoreError';
}

const TRANSIENT_AWS_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'InternalServerError',
  'ServiceUnavailable',
]);

// Plain reasons for the two commonest problems of console input.
z.config({
  customError: (issue) => {
    if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
    if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
    return undefined;
  },
});

/** zod issues -> `field: reason` with dotted paths, the contract's error shape. */
export function zodIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    const field = [prefix, path].filter(Boolean).join('.') || '(input)';
    return { field, reason: issue.message };
  });
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, prefix));
  return parsed.data;
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (TRANSIENT_AWS_ERRORS.has(error.name)) return true;
  // A cancelled transaction only because of a concurrent one is transient; a failed condition is not.
  if (error.name === 'TransactionCanceledException') {
    const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return reasons.some((r) => r.Code === 'TransactionConflict' || r.Code === 'ThrottlingError');
  }
  return false;
}

export interface StageContext {
  lambda: Context;
}

/** Publishes what the invocation counted, if anything (an empty flush would only log a warning). */
const publishMetrics: MiddlewareObj = {
  after: () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  },
  onError: () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  },
};

/**
 * One Lambda stage: parse the input with zod, call the core, return a small typed result.
 * Errors keep their typed name (Step Functions matches on it); transient store errors are renamed
 * so the state machine's Retry catches them. The logger gets the Lambda context (request id,
 * function name, cold start) on every line; metrics counted during the call are published.
 */
export function stage<S extends z.ZodType, O>(schema: S, fn: (input: z.output<S>, ctx: StageContext) => Promise<O>) {
  const base = async (event: unknown, context: Context): Promise<O> => {
    const input = parseInput(schema, event);
    const runId = (input as { runId?: unknown })?.runId;
    if (typeof runId === 'string') logger.appendKeys({ runId });
    try {
      return await fn(input, { lambda: context });
    } catch (error) {
      if (isTransient(error)) {
        logger.warn('transient store error, the state machine retries', { errorName: (error as Error).name });
        throw new TransientStoreError((error as Error).message, { cause: error });
      }
      throw error;
    } finally {
      if (typeof runId === 'string') logger.removeKeys(['runId']);
    }
  };
  return middy(base).use(injectLambdaContext(logger)).use(publishMetrics);
}
