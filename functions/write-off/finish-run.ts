import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { readSelectedCodes } from '../../lib/adapters/dynamodb/vouchers.ts';
import { storeWriteOffFile } from '../../lib/adapters/s3/write-off-files.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import { finishWriteOff } from '../../lib/services/write-off/run.ts';
import { stage } from '../commons/handler.ts';
import { METRIC } from '../commons/metric-names.ts';
import { countMetric, logger } from '../commons/powertools.ts';
import { ValidatedWriteOffInput } from './input.ts';

const Input = z.object({
  runId: z.string(),
  startedAt: z.string(),
  input: ValidatedWriteOffInput,
  segmentResults: z.array(z.object({ segment: z.number().int(), pages: z.number().int(), selected: z.number().int(), tallies: TalliesSchema })),
});

/** 4. Sums the pages, renders and stores the write-off file and finishes the run (lib/services/write-off). */
export const handler = stage(Input, async (run) =>
  finishWriteOff(
    {
      runs: new RunRepository(),
      readSelectedCodes,
      storeFile: storeWriteOffFile,
      notUploaded: (runId, note) => logger.info('write-off file not uploaded', { runId, note }),
      countWrittenOff: (count) => countMetric(METRIC.writtenOff, count),
    },
    run,
  ),
);
