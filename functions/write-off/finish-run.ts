import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { readSelectedCodes } from '../../lib/adapters/dynamodb/vouchers.ts';
import { storeWriteOffFile } from '../../lib/adapters/s3/write-off-files.ts';
import { ConflictError } from '../../lib/core/errors.ts';
import { mergeTallies, TalliesSchema, type RunReport, type Tallies } from '../../lib/core/report.ts';
import { renderWriteOffFile, writeOffChecksum } from '../../lib/core/write-off.ts';
import { stage } from '../commons/handler.ts';
import { METRIC } from '../commons/metric-names.ts';
import { countMetric, logger } from '../commons/powertools.ts';
import { WRITE_OFF_WORKFLOW } from './open-run.ts';
import { ValidatedWriteOffInput } from './validate.ts';

const Input = z.object({
  runId: z.string(),
  startedAt: z.string(),
  input: ValidatedWriteOffInput,
  segmentResults: z.array(z.object({ segment: z.number().int(), pages: z.number().int(), selected: z.number().int(), tallies: TalliesSchema })),
});

/**
 * 4. Sums the pages' tallies, reads back every selected code, renders the write-off file (first
 * 1,000 codes, count, totals per currency, SHA-256 over all codes sorted), stores it as the run
 * log (and in S3 on AWS) and finishes the run with its report.
 */
export const handler = stage(Input, async ({ runId, startedAt, input, segmentResults }) => {
  const runs = new RunRepository();
  const tallies: Tallies = mergeTallies(...segmentResults.map((s) => s.tallies));
  const outcome = input.simulate ? 'would_write_off' : 'written_off';
  const codes = await readSelectedCodes(runId);
  const selected = tallies[outcome] ?? { count: 0, totals: {} };
  const checksum = writeOffChecksum(codes);
  const text = renderWriteOffFile({
    runId,
    criteria: { issuedUpTo: input.issuedUpTo, expiredBefore: input.expiredBefore, kinds: input.kinds, codes: input.codes },
    simulate: input.simulate,
    sampleCodes: codes,
    count: codes.length,
    totals: selected.totals,
    checksum,
  });
  await runs.log(runId, 'file', text.trimEnd().split('\n'));
  // Tallies and stored codes come from the same pages: a difference means a page's write was lost.
  if (codes.length !== selected.count) {
    throw new ConflictError(`the pages selected ${selected.count} codes but ${codes.length} were stored; run the write-off again`);
  }
  const stored = await storeWriteOffFile(runId, text);
  if (stored.note) logger.info('write-off file not uploaded', { runId, note: stored.note });
  if (!input.simulate) countMetric(METRIC.writtenOff, selected.count);
  const report: RunReport = {
    runId,
    workflow: WRITE_OFF_WORKFLOW,
    status: 'succeeded',
    startedAt,
    finishedAt: new Date().toISOString(),
    requestedBy: input.requestedBy,
    input,
    simulate: input.simulate,
    outcomes: tallies,
    errors: [],
    file: { count: codes.length, checksum, location: stored.location, ...(stored.note ? { note: stored.note } : {}) },
    pages: segmentResults.reduce((n, s) => n + s.pages, 0),
  };
  await runs.finish(runId, 'succeeded', report);
  return report;
});
