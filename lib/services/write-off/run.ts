import type { StoredFile } from '../../adapters/s3/write-off-files.ts';
import type { RunPorts } from '../runs/ports.ts';
import { ConflictError } from '../../core/errors.ts';
import { mergeTallies, type RunReport, type Tallies } from '../../core/report.ts';
import { renderWriteOffFile, writeOffChecksum, writeOffRunReport, type WriteOffCriteria } from '../../core/write-off.ts';

export const WRITE_OFF_WORKFLOW = 'WriteOff';

/** WriteOff's input (functions/write-off/input.ts parses it). */
export type WriteOffRequest = WriteOffCriteria & { simulate: boolean; requestedBy: string; comment?: string | undefined };

/** The exclusion list a run freezes when it opens (lib/adapters/dynamodb/vouchers.ts). */
export interface ExclusionPorts {
  readSnapshot(runId: string): Promise<Set<string> | undefined>;
  loadExclusions(): Promise<string[]>;
  snapshot(runId: string, ids: string[]): Promise<void>;
}

/** Opens the run and freezes the exclusion list it decides against. A retry keeps the first snapshot. */
export async function openWriteOff(ports: { runs: Pick<RunPorts, 'open'>; exclusions: ExclusionPorts }, run: { runId: string; startedAt: string; input: WriteOffRequest }) {
  const { runId, startedAt, input } = run;
  await ports.runs.open({ runId, workflow: WRITE_OFF_WORKFLOW, startedAt, requestedBy: input.requestedBy, input });
  const existing = await ports.exclusions.readSnapshot(runId);
  if (existing) return { exclusions: existing.size };
  const ids = await ports.exclusions.loadExclusions();
  await ports.exclusions.snapshot(runId, ids);
  return { exclusions: ids.length };
}

export interface FinishWriteOffPorts {
  runs: Pick<RunPorts, 'log' | 'finish'>;
  readSelectedCodes(runId: string): Promise<string[]>;
  storeFile(runId: string, text: string): Promise<StoredFile>;
  /** Where the file was not uploaded (no bucket locally), and why. */
  notUploaded(runId: string, note: string): void;
  /** Counts a real run's written-off codes (a metric). */
  countWrittenOff(count: number): void;
}

/**
 * Sums the pages' tallies, reads back every selected code, renders the write-off file (first
 * 1,000 codes, count, totals per currency, SHA-256 over all codes sorted), stores it as the run
 * log (and in S3 on AWS) and finishes the run with its report.
 */
export async function finishWriteOff(
  ports: FinishWriteOffPorts,
  run: { runId: string; startedAt: string; input: WriteOffRequest; segmentResults: readonly { pages: number; tallies: Tallies }[] },
): Promise<RunReport> {
  const { runId, startedAt, input, segmentResults } = run;
  const tallies: Tallies = mergeTallies(...segmentResults.map((s) => s.tallies));
  const codes = await ports.readSelectedCodes(runId);
  const selected = tallies[input.simulate ? 'would_write_off' : 'written_off'] ?? { count: 0, totals: {} };
  const checksum = writeOffChecksum(codes);
  const criteria = { issuedUpTo: input.issuedUpTo, expiredBefore: input.expiredBefore, kinds: input.kinds, codes: input.codes };
  const text = renderWriteOffFile({ runId, criteria, simulate: input.simulate, sampleCodes: codes, count: codes.length, totals: selected.totals, checksum });
  await ports.runs.log(runId, 'file', text.trimEnd().split('\n'));
  // Tallies and stored codes come from the same pages: a difference means a page's write was lost.
  if (codes.length !== selected.count) {
    throw new ConflictError(`the pages selected ${selected.count} codes but ${codes.length} were stored; run the write-off again`);
  }
  const stored = await ports.storeFile(runId, text);
  if (stored.note) ports.notUploaded(runId, stored.note);
  if (!input.simulate) ports.countWrittenOff(selected.count);
  const pages = segmentResults.reduce((n, s) => n + s.pages, 0);
  const file = { count: codes.length, checksum, location: stored.location, note: stored.note };
  const report = writeOffRunReport({ runId, workflow: WRITE_OFF_WORKFLOW, startedAt, requestedBy: input.requestedBy, input, simulate: input.simulate }, tallies, file, pages, new Date().toISOString());
  await ports.runs.finish(runId, 'succeeded', report);
  return report;
}
