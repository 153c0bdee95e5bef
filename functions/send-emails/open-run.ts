import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SenderLock } from '../../lib/adapters/dynamodb/sender-lock.ts';
import { envInt } from '../commons/bookings.ts';
import { stage } from '../commons/handler.ts';
import { LEASE_MARGIN_MS, SenderState, WORKFLOW } from './shared.ts';

/**
 * 2. Takes the sender lease (one SendEmails run at a time keeps the account under its quota) and
 * opens the run. A run started while another sends waits a little for it, then leaves the outbox
 * to it: the running one sweeps again before it ends, and the schedule comes back anyway.
 */
export const handler = stage(SenderState, async (state) => {
  const lock = new SenderLock();
  const waitUntil = Date.now() + envInt('SENDER_LOCK_WAIT_SECONDS', 30) * 1000;
  let taken = await lock.acquire(state.runId, envInt('EMAIL_BATCH_SECONDS', 60) * 1000 + LEASE_MARGIN_MS);
  while (!taken.acquired && Date.now() < waitUntil) {
    await new Promise((r) => setTimeout(r, 250));
    taken = await lock.acquire(state.runId, envInt('EMAIL_BATCH_SECONDS', 60) * 1000 + LEASE_MARGIN_MS);
  }
  await new RunRepository().open({ runId: state.runId, workflow: WORKFLOW, startedAt: state.startedAt, requestedBy: state.requestedBy, input: state.input });
  return taken.acquired ? { acquired: true } : { acquired: false, holder: taken.holder };
});
