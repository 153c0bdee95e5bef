import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SenderLock } from '../../lib/adapters/dynamodb/sender-lock.ts';
import { finishedStatus, type RunReport } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { METRIC } from '../commons/metric-names.ts';
import { countMetric } from '../commons/powertools.ts';
import { OpenedSenderState, WORKFLOW } from './shared.ts';


/** 4. Frees the sender lease and finishes the run with its report: emails sent, failed, deferred, and the rate kept. */
export const handler = stage(OpenedSenderState, async (state) => {
  const { opened, runId } = state;
  if (opened.value.acquired) await new SenderLock().release(runId);
  const sent = state.tallies.emails_sent?.count ?? 0;
  const errors: RunReport['errors'] = [...state.errors];
  if (state.moreErrors > 0) errors.push({ code: 'MoreErrors', message: `${state.moreErrors} more; see the run log (mass-refund report ${runId})` });
  if (state.stopReason) errors.push({ code: 'Stopped', message: state.stopReason });
  // An email given up on, or a run stopped by SES, is something left undone: completed_with_errors.
  const status = finishedStatus(errors);
  const report: RunReport = {
    runId,
    workflow: WORKFLOW,
    status,
    startedAt: state.startedAt,
    finishedAt: new Date().toISOString(),
    requestedBy: state.requestedBy,
    input: state.input,
    outcomes: state.tallies,
    errors,
    sendRate: state.sendRate,
    sentPerSecond: state.activeMs > 0 ? Math.round((sent / state.activeMs) * 10_000) / 10 : 0,
    sweeps: state.sweep,
    ...(opened.value.acquired ? {} : { skipped: `another SendEmails run (${opened.value.holder}) is sending; it drains the outbox` }),
  };
  await new RunRepository().finish(runId, status, report);
  countMetric(METRIC.emailsSent, sent);
  countMetric(METRIC.emailsFailed, state.tallies.emails_failed?.count ?? 0);
  return report;
});
