import type { RunRecord, RunStatus } from '../../adapters/dynamodb/runs.ts';
import type { RunReport } from '../../core/report.ts';

/** What a workflow uses of its run record and log (lib/adapters/dynamodb/runs.ts RunRepository). */
export interface RunPorts {
  open(run: Omit<RunRecord, 'status'>): Promise<RunRecord>;
  log(runId: string, key: string, lines: string[]): Promise<void>;
  finish(runId: string, status: RunStatus, report: RunReport): Promise<void>;
}
