/** `report RUN_ID`: the human-readable log of a run (the simulation log, the write-off file), from the Runs table. */
import { RunRepository } from '../adapters/dynamodb/runs.ts';
import { formatDuration, humanizeMinorUnits, outcomesTable } from './format.ts';
import { EXIT, info, printJson, type Io } from './io.ts';

export async function cmdReport(io: Io, runId: string, flags: { json?: boolean }): Promise<number> {
  const runs = new RunRepository();
  const run = await runs.get(runId);
  if (!run) {
    info(io, `no run "${runId}"`);
    return EXIT.badInput;
  }
  const log: string[] = [];
  for await (const line of runs.logLines(runId)) log.push(line);
  if (flags.json) {
    printJson(io, { ...run, log });
    return EXIT.ok;
  }
  const out: string[] = [];
  out.push(`${run.workflow} run ${run.runId}: ${run.status}`);
  const took = run.finishedAt ? `, finished ${run.finishedAt} (${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt))})` : '';
  out.push(`started ${run.startedAt}${took}, requested by ${run.requestedBy}`);
  out.push(`input: ${JSON.stringify(run.input)}`);
  if (log.length) out.push('', ...log.map(humanizeMinorUnits));
  if (run.report) {
    out.push('', outcomesTable(run.report.outcomes));
    const errors = run.report.errors ?? [];
    if (errors.length) out.push('', ...errors.map((e) => `error ${e.code}: ${humanizeMinorUnits(e.message)}`));
  }
  io.stdout.write(`${out.join('\n')}\n`);
  return EXIT.ok;
}
