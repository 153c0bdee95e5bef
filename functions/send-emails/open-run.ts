import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SenderLock } from '../../lib/adapters/dynamodb/sender-lock.ts';
import { LEASE_MARGIN_MS } from '../../lib/core/email-sending.ts';
import { takeSenderLease } from '../../lib/services/send-emails/lease.ts';
import { envInt } from '../commons/env.ts';
import { stage } from '../commons/handler.ts';
import { lambdaClock } from '../commons/clock.ts';
import { SenderState, sendingSettings, WORKFLOW } from './shared.ts';

/**
 * 2. Takes the sender lease (lib/services/send-emails/lease.ts: one SendEmails run at a time,
 * a run started while another sends waits a little, then leaves the outbox to it) and opens the run.
 */
export const handler = stage(SenderState, async (state, ctx) => {
  const leaseMs = sendingSettings().batchSeconds * 1000 + LEASE_MARGIN_MS;
  const taken = await takeSenderLease(state.runId, new SenderLock(), lambdaClock(ctx), leaseMs, envInt('SENDER_LOCK_WAIT_SECONDS', 30) * 1000);
  await new RunRepository().open({ runId: state.runId, workflow: WORKFLOW, startedAt: state.startedAt, requestedBy: state.requestedBy, input: state.input });
  return taken;
});
