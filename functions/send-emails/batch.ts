import { OutboxStore, performancesOf, recipientsOf } from '../../lib/adapters/dynamodb/outbox.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SenderLock } from '../../lib/adapters/dynamodb/sender-lock.ts';
import { mailerConfigFromEnv, SesMailer } from '../../lib/adapters/ses/mailer.ts';
import { sendBatch } from '../../lib/services/send-emails/batch.ts';
import { stage } from '../commons/handler.ts';
import { logger } from '../commons/powertools.ts';
import { lambdaClock } from '../commons/clock.ts';
import { OpenedSenderState, sendingSettings } from './shared.ts';

/**
 * 3. One batch of a SendEmails run (lib/services/send-emails/batch.ts): sweeps the outbox at the
 * run's rate until it is drained or the batch's time is up; the state machine loops.
 */
export const handler = stage(OpenedSenderState, async ({ opened, ...state }, ctx) => {
  const mail = mailerConfigFromEnv();
  const ports = {
    outbox: new OutboxStore(),
    catalog: { recipientsOf, performancesOf },
    mailer: new SesMailer(mail),
    runs: new RunRepository(),
    lease: new SenderLock(),
    clock: lambdaClock(ctx),
    warn: (message: string, fields: Record<string, unknown>) => logger.warn(message, fields),
  };
  return { ...(await sendBatch(state, ports, sendingSettings(), mail)), opened };
});
