import * as z from 'zod';
import { DispatchStore, recipientsOf, type DispatchRefund } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SesMailer } from '../../lib/adapters/ses/mailer.ts';
import { renderRefundEmail, type NotificationKind } from '../../lib/core/refund-emails.ts';
import { tally } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { logger } from '../commons/powertools.ts';
import { envInt, forEachConcurrently, TalliesSchema } from './shared.ts';

const Input = z.object({
  runId: z.string(),
  shard: z.number().int().min(0),
  cursor: z.string().nullish().transform((c) => c ?? null),
  page: z.number().int().min(0).default(0),
  tallies: TalliesSchema.default({}),
});

/**
 * 4. One page of an outbox shard: one email per order and kind. Each refund is marked
 * `sending` before SES and `sent` after (both packed per chunk of orders), so no refund is ever emailed
 * twice; an SES failure puts the marks back to `unsent` (retried by the next run) and never
 * touches the money.
 */
export const handler = stage(Input, async (state) => {
  const store = new DispatchStore();
  const page = await store.outboxPage(state.shard, state.cursor, envInt('DISPATCH_EMAIL_PAGE_SIZE', 200));
  // Groups are contiguous (outboxKey starts with orderId#kind); a group cut by the page end waits for the next page.
  const groups: { key: string; items: DispatchRefund[] }[] = [];
  let cursor = page.cursor;
  page.items.forEach((item, i) => {
    const key = String(page.keys[i]?.outboxKey ?? '').split('#').slice(0, 2).join('#');
    const last = groups[groups.length - 1];
    if (last?.key === key) last.items.push(item);
    else groups.push({ key, items: [item] });
  });
  if (page.cursor && groups.length > 1) {
    const cut = groups.pop() as { items: DispatchRefund[] };
    const lastKept = page.keys[page.items.length - cut.items.length - 1];
    cursor = JSON.stringify(lastKept);
  }
  let tallies = state.tallies;
  const lines: string[] = [];
  const errors: string[] = [];
  const recipients = await recipientsOf(groups.flatMap((g) => g.items.map((r) => ({ ownerId: r.ownerId, ownerKind: r.ownerKind }))));
  const mailer = new SesMailer();
  const unsentOf = (g: { items: DispatchRefund[] }) => g.items.filter((r) => r.notification?.status === 'unsent');
  const sendGroup = async (group: { items: DispatchRefund[] }, marked: Set<string>, sent: { id: string; kind: NotificationKind; messageId: string; at: string }[]) => {
    const first = group.items[0] as DispatchRefund;
    const kind = first.notification?.kind as NotificationKind;
    const unsent = unsentOf(group);
    const pendingElsewhere = group.items.length - unsent.length;
    if (pendingElsewhere > 0) tallies = tally(tallies, 'emails_unconfirmed', undefined, pendingElsewhere);
    const mine = unsent.filter((r) => marked.has(r.id));
    if (mine.length === 0) return;
    const recipient = recipients.get(`${first.ownerKind}:${first.ownerId}`);
    const orderLine = `order=${first.orderId} ${kind} refunds=${mine.map((r) => r.id).join(',')}`;
    if (!recipient?.email) {
      for (const r of mine) await store.markEmailFailed(r.id, `no email address for ${first.ownerKind} ${first.ownerId}`);
      tallies = tally(tallies, 'emails_failed');
      lines.push(`${orderLine}: not sent, no email address on record`);
      errors.push(`order ${first.orderId}: no email address`);
      return;
    }
    const email = renderRefundEmail({ kind, language: recipient.language, recipientName: recipient.name, orderId: first.orderId, refunds: mine.map((r) => ({ amount: r.amount, method: r.method })) });
    try {
      const { messageId } = await mailer.send(recipient.email, email);
      const at = new Date().toISOString();
      for (const r of mine) sent.push({ id: r.id, kind, messageId, at });
      tallies = tally(tallies, 'emails_sent');
      lines.push(`${orderLine}: email sent (${messageId})`);
    } catch (error) {
      const reason = `${(error as Error).name}: ${(error as Error).message}`;
      logger.warn('SES refused a refund email; it stays in the outbox for the next run', { orderId: first.orderId, kind, errorName: (error as Error).name });
      for (const r of mine) await store.markEmailFailed(r.id, reason);
      tallies = tally(tallies, 'emails_failed');
      lines.push(`${orderLine}: not sent (${reason}), retried by the next run`);
    }
  };
  // A chunk of groups at a time: marked `sending` together (one packed write), sent, marked `sent`
  // together. A crash inside a chunk leaves at most its refunds `sending`: reported unconfirmed, never sent twice.
  const chunk = envInt('DISPATCH_EMAIL_CHUNK', 24);
  for (let i = 0; i < groups.length; i += chunk) {
    const part = groups.slice(i, i + chunk);
    const marked = await store.markEmailsSending(
      part.flatMap((g) => unsentOf(g).map((r) => ({ id: r.id, kind: r.notification?.kind as NotificationKind }))),
      state.runId,
    );
    const sent: { id: string; kind: NotificationKind; messageId: string; at: string }[] = [];
    try {
      await forEachConcurrently(part, 8, (group) => sendGroup(group, marked, sent));
    } finally {
      await store.markEmailsSent(sent);
    }
  }
  await new RunRepository().log(state.runId, `emails#shard${String(state.shard).padStart(2, '0')}#page${String(state.page).padStart(5, '0')}`, lines);
  return { ...state, cursor, page: state.page + 1, done: cursor === null, tallies };
});
