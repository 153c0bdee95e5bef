import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { loadWriteOffExclusions, readExclusionSnapshot, snapshotExclusions } from '../../lib/adapters/dynamodb/vouchers.ts';
import { openWriteOff } from '../../lib/services/write-off/run.ts';
import { stage } from '../commons/handler.ts';
import { ValidatedWriteOffInput } from './input.ts';

export { WRITE_OFF_WORKFLOW } from '../../lib/services/write-off/run.ts';
const Input = z.object({ runId: z.string(), startedAt: z.string(), input: ValidatedWriteOffInput });

/** 2. Opens the run and freezes the exclusion list it decides against. A retry keeps the first snapshot. */
export const handler = stage(Input, async (run) =>
  openWriteOff({ runs: new RunRepository(), exclusions: { readSnapshot: readExclusionSnapshot, loadExclusions: loadWriteOffExclusions, snapshot: snapshotExclusions } }, run),
);
