import type { InvocationClock } from '../clock.ts';
import type { SenderLease } from './ports.ts';

/**
 * Takes the sender lease (one SendEmails run at a time keeps the account under its quota). A run
 * started while another sends waits up to `waitMs` for it, then leaves the outbox to it: the
 * running one sweeps again before it ends, and the schedule comes back anyway.
 */
export async function takeSenderLease(runId: string, lease: SenderLease, clock: InvocationClock, leaseMs: number, waitMs: number): Promise<{ acquired: true } | { acquired: false; holder: string }> {
  const waitUntil = clock.now() + waitMs;
  let taken = await lease.acquire(runId, leaseMs);
  while (!taken.acquired && clock.now() < waitUntil) {
    await clock.sleep(250);
    taken = await lease.acquire(runId, leaseMs);
  }
  return taken.acquired ? { acquired: true } : { acquired: false, holder: taken.holder };
}
