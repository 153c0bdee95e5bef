import type { InvocationClock } from '../clock.ts';
import type { OutboxEntry, OutboxPage, Recipient, SentMark } from '../../adapters/dynamodb/outbox.ts';
import type { Mailer } from '../../adapters/ses/mailer.ts';
import type { SendErrorClass } from '../../core/email-sending.ts';
import type { EmailEvent } from '../../core/refund-emails.ts';

/**
 * What a SendEmails run uses, as the handlers build it (lib/adapters): the service imports only
 * these shapes, so it runs with the real stores or with fakes.
 */

/** The notification outbox (lib/adapters/dynamodb/outbox.ts `OutboxStore`). */
export interface Outbox {
  page(shard: number, cursor: string | null, limit: number): Promise<OutboxPage>;
  /** The cursor after the first `used` entries of a page (the page's own cursor when it used them all). */
  resumeAfter(page: OutboxPage, used: number): string | null;
  markSending(entries: readonly OutboxEntry[], runId: string): Promise<Set<OutboxEntry>>;
  markSent(sent: readonly SentMark[]): Promise<void>;
  release(e: OutboxEntry, reason: string, countAttempt: boolean): Promise<'unsent' | 'failed'>;
  fail(e: OutboxEntry, reason: string): Promise<void>;
}

/** Who gets the emails and the performances they are about (the catalog table). */
export interface EmailCatalog {
  recipientsOf(owners: readonly { ownerId: string; ownerKind: 'customer' | 'agency' }[]): Promise<Map<string, Recipient>>;
  performancesOf(ids: readonly string[]): Promise<Map<string, EmailEvent>>;
}

/** The mailer (SES) and what its errors mean for an email. */
export interface SendingMailer extends Mailer {
  classify(error: unknown): SendErrorClass;
}

/** The runs table: the runs that refunded a refund (their credit policy), the run log. */
export interface RunRecords {
  get(runId: string): Promise<{ workflow: string; input: unknown } | undefined>;
  log(runId: string, key: string, lines: string[]): Promise<void>;
}

/** The one sender lease of the account (lib/adapters/dynamodb/sender-lock.ts). */
export interface SenderLease {
  acquire(runId: string, leaseMs: number): Promise<{ acquired: true } | { acquired: false; holder: string }>;
  renew(runId: string, leaseMs: number): Promise<boolean>;
}

export interface SenderPorts {
  outbox: Outbox;
  catalog: EmailCatalog;
  mailer: SendingMailer;
  runs: RunRecords;
  lease: SenderLease;
  clock: InvocationClock;
  /** A warning for the operators' logs (no personal data). */
  warn(message: string, fields: Record<string, unknown>): void;
}
