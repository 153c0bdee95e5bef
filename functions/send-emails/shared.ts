import * as z from 'zod';
import type { SendingSettings } from '../../lib/core/email-sending.ts';
import { envInt } from '../commons/env.ts';
import { Continuation } from '../commons/paging.ts';
import { BATCHES_PER_EXECUTION } from '../../lib/core/continuation.ts';
import { ReportErrorSchema, TalliesSchema } from '../../lib/core/report.ts';

export const WORKFLOW = 'SendEmails';

/** The state of a SendEmails run, carried from batch to batch by the state machine. */
export const SenderState = z.object({
  runId: z.string().min(1),
  startedAt: z.string(),
  requestedBy: z.string(),
  input: z.record(z.string(), z.unknown()),
  /** Emails per second this run may send: the configured SES quota, or less if the input asks. */
  sendRate: z.number().positive(),
  /** Where the sweep over the outbox shards stands. */
  shard: z.number().int().min(0),
  cursor: z.string().nullable(),
  sweep: z.number().int().min(1),
  sweepSent: z.number().int().min(0),
  sweepDeferred: z.number().int().min(0),
  batches: z.number().int().min(0),
  /** Time spent inside batches, for the run's throughput. */
  activeMs: z.number().min(0),
  done: z.boolean(),
  stopReason: z.string().nullable(),
  tallies: TalliesSchema,
  errors: z.array(ReportErrorSchema),
  moreErrors: z.number().int().min(0),
  /** Where the run stands in its chain of executions (lib/core/continuation.ts). */
  continuation: Continuation.optional(),
  /** Batches in the execution `batchesPart` (of the run's chain): past the budget, the run goes on in the next. */
  executionBatches: z.number().int().min(0).default(0),
  batchesPart: z.number().int().min(1).default(1),
});
export type SenderState = z.infer<typeof SenderState>;

/** Whether this run took the sender lease (OpenSenderRun's result, carried along). */
export const Opened = z.object({ value: z.object({ acquired: z.boolean(), holder: z.string().optional() }) });
export const OpenedSenderState = SenderState.extend({ opened: Opened });

/** How the run is tuned, from the stage's environment. */
export function sendingSettings(): SendingSettings {
  return {
    batchSeconds: envInt('EMAIL_BATCH_SECONDS', 60),
    pageSize: envInt('EMAIL_PAGE_SIZE', 200),
    maxSweeps: envInt('EMAIL_MAX_SWEEPS', 20),
    chunkSize: envInt('EMAIL_CHUNK', 24),
    chunksAtOnce: envInt('EMAIL_CHUNKS_AT_ONCE', 3),
    batchesPerExecution: envInt('MASS_REFUND_BATCHES_PER_EXECUTION', BATCHES_PER_EXECUTION),
  };
}
