import * as z from 'zod';
import { CheckpointRepository } from '../../lib/adapters/dynamodb/checkpoints.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { continuationName } from '../../lib/core/continuation.ts';
import { ConflictError, ValidationError } from '../../lib/core/errors.ts';
import { parseInput, stage } from '../commons/handler.ts';

/** The input of a continued execution (AWS adds the id of the execution that started it). */
const ContinuationRequest = z.strictObject({
  continueRun: z.string().trim().min(1).max(80),
  part: z.number().int().min(2),
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
});

const Input = z.object({ workflow: z.string().min(1), execution: z.object({ name: z.string().min(1) }), request: z.unknown() });

/**
 * First state of a continued execution: takes the checkpoint the run's previous execution left
 * (once: a second execution for the same part is refused) and returns the state to go on from,
 * with `resumeAt` naming where. Refuses an execution that is not the run's next part, a run of
 * another workflow, and a run that has already ended. Writes nothing but the taking.
 */
export const handler = stage(Input, async ({ workflow, execution, request }) => {
  const { continueRun, part } = parseInput(ContinuationRequest, request);
  if (continuationName(continueRun, part) !== execution.name) {
    throw new ValidationError([{ field: 'part', reason: `execution ${execution.name} is not part ${part} of run "${continueRun}" (that is ${continuationName(continueRun, part)})` }]);
  }
  const run = await new RunRepository().get(continueRun);
  if (run && run.workflow !== workflow) throw new ConflictError(`continueRun: run "${continueRun}" is a ${run.workflow} run, not ${workflow}`);
  if (run && run.status !== 'running') throw new ConflictError(`continueRun: run "${continueRun}" has ended (${run.status}); start a new run to finish the job`);
  const checkpoint = await new CheckpointRepository().take(continueRun, part, execution.name);
  if (checkpoint.workflow !== workflow) throw new ConflictError(`continueRun: part ${part} of run "${continueRun}" is for ${checkpoint.workflow}, not ${workflow}`);
  return { ...checkpoint.state, resumeAt: checkpoint.resumeAt };
});
