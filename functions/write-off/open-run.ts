import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { loadWriteOffExclusions, readExclusionSnapshot, snapshotExclusions } from '../../lib/adapters/dynamodb/vouchers.ts';
import { stage } from '../commons/handler.ts';
import { ValidatedWriteOffInput } from './validate.ts';

export const WRITE_OFF_WORKFLOW = 'WriteOff';
const Input = z.object({ runId: z.string(), startedAt: z.string(), input: ValidatedWriteOffInput });

/** 2. Opens the run and freezes the exclusion list it decides against. A retry keeps the first snapshot. */
export const handler = stage(Input, async ({ runId, startedAt, input }) => {
  await new RunRepository().open({ runId, workflow: WRITE_OFF_WORKFLOW, startedAt, requestedBy: input.requestedBy, input });
  const existing = await readExclusionSnapshot(runId);
  if (existing) return { exclusions: existing.size };
  const ids = await loadWriteOffExclusions();
  await snapshotExclusions(runId, ids);
  return { exclusions: ids.length };
});
