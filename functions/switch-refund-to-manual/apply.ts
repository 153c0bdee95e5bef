import * as z from 'zod';
import { RefundRepository } from '../../lib/adapters/dynamodb/refunds.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { switchRefundToManual } from '../../lib/services/refunds/switch-to-manual.ts';
import { stage } from '../commons/handler.ts';
import { SwitchToManualInput } from './validate.ts';

const Input = z.object({ runId: z.string(), startedAt: z.string(), input: SwitchToManualInput, expectedVersion: z.number().int() });

/** Takes the refund out of automation for good and records the run (lib/services/refunds). A re-run of the same execution is a no-op. */
export const handler = stage(Input, async (run) => switchRefundToManual({ runs: new RunRepository(), refunds: new RefundRepository() }, run));
