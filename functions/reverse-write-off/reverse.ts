import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { VoucherRepository } from '../../lib/adapters/dynamodb/vouchers.ts';
import { reverseWriteOff } from '../../lib/services/write-off/reverse.ts';
import { stage } from '../commons/handler.ts';
import { ReverseWriteOffInput } from './validate.ts';

const Input = z.object({ runId: z.string(), startedAt: z.string(), input: ReverseWriteOffInput, writeOffRunId: z.string() });

/** 2. Restores the code's value and records the reversal (lib/services/write-off/reverse.ts). A retry does nothing twice. */
export const handler = stage(Input, async (run) => reverseWriteOff({ runs: new RunRepository(), vouchers: new VoucherRepository() }, run));
