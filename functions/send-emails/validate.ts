import * as z from 'zod';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, RequestedBy } from '../commons/run-input.ts';
import { envInt } from '../commons/env.ts';
import type { SenderState } from './shared.ts';

/** The console (or schedule) input: who asked, and optionally a slower rate than the account's quota. */
export const SendEmailsInput = z.strictObject({
  requestedBy: RequestedBy.default('schedule:emails'),
  /** Emails per second, at most the configured SES quota (e.g. to leave room for other mail of the account). */
  sendRate: z.number().int('must be a whole number of emails per second').min(1, 'must be a positive number of emails per second').max(10_000).optional(),
});

/** 1. Validates the input and fixes the run's sending rate. Writes nothing. */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }): Promise<SenderState> => {
  const parsed = parseInput(SendEmailsInput, input ?? {});
  const quota = envInt('SES_MAX_SEND_RATE', 14);
  return {
    runId: execution.executionName,
    startedAt: execution.startedAt,
    requestedBy: parsed.requestedBy,
    input: parsed,
    sendRate: Math.min(quota, parsed.sendRate ?? quota),
    shard: 0,
    cursor: null,
    sweep: 1,
    sweepSent: 0,
    sweepDeferred: 0,
    batches: 0,
    activeMs: 0,
    done: false,
    stopReason: null,
    tallies: {},
    errors: [],
    moreErrors: 0,
    executionBatches: 0,
    batchesPart: 1,
  };
});
