import * as z from 'zod';
import { putSelectedCodes, readExclusionSnapshot, VoucherRepository } from '../../lib/adapters/dynamodb/vouchers.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import { exclusionsOfRun, writeOffPage } from '../../lib/services/write-off/page.ts';
import { crashPoint } from '../commons/chaos.ts';
import { envInt } from '../commons/env.ts';
import { stage } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import { ValidatedWriteOffInput } from './input.ts';

/** Items read per page (WRITE_OFF_PAGE_SIZE overrides it: tests force many pages). */
export const WRITE_OFF_PAGE_SIZE = 1000;

const PageInput = z.object({
  runId: z.string(),
  input: ValidatedWriteOffInput,
  segment: z.number().int().min(0),
  totalSegments: z.number().int().min(1),
  /** Where the segment's scan goes on (null: from the start, or done). */
  cursor: z.record(z.string(), z.unknown()).nullish(),
  page: z.number().int().min(0),
  tallies: TalliesSchema,
  selected: z.number().int().min(0),
  ...CallFields.shape,
});
const Input = z.preprocess((raw) => shardItem(raw, 'segment'), PageInput);

// One container serves many pages of the same run: its exclusion snapshot is read once.
const exclusions = exclusionsOfRun(readExclusionSnapshot);

/** 3. Pages of one scan segment (several a call, functions/commons/paging.ts), written off by lib/services/write-off. */
export const handler = stage(Input, async (first, ctx) => {
  const ports = { vouchers: new VoucherRepository(), exclusions, putSelectedCodes, crash: crashPoint };
  const pageSize = envInt('WRITE_OFF_PAGE_SIZE', WRITE_OFF_PAGE_SIZE);
  return pageCall(first, ctx, (event) => writeOffPage(ports, event, pageSize));
});
