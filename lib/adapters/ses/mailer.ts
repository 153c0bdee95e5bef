import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import type { MailSettings, RenderedEmail } from '../../core/refund-emails.ts';
import type { SendErrorClass } from '../../core/email-sending.ts';
import { DomainError } from '../../core/errors.ts';

/**
 * Sending one email through SES v1 SendEmail (the local SES server speaks it too; the endpoint
 * comes from AWS_ENDPOINT_URL_SES), and what the answer means for the outbox: SES sends nothing
 * when it answers with an error, so a refusal may be retried; no answer at all (time-out, reset)
 * may have been sent, so it never is.
 */

export interface OutgoingEmail extends RenderedEmail {
  to: string;
  /** SES message tags (the configuration set's CloudWatch dimensions): [A-Za-z0-9_-] only. */
  tags?: Record<string, string>;
}

/** The mailer port: one email out, or a thrown error that `classifySendError` reads. */
export interface Mailer {
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
}

export class MailerConfigurationError extends DomainError {
  override readonly name = 'MailerConfigurationError';
}

/** Who the emails come from and what they point to, from the stack's configuration (CDK context -> environment). */
export interface MailerConfig extends MailSettings {
  /** The verified SES identity. */
  sender: string;
  /** The display name beside it (default: the brand). */
  senderName: string;
  replyTo: string[];
  /** The SES configuration set that records bounces, complaints and deliveries (absent locally). */
  configurationSet?: string;
}

export function mailerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): MailerConfig {
  const sender = env.MAIL_SENDER;
  if (!sender) throw new MailerConfigurationError('MAIL_SENDER is not set: no sender address for refund emails');
  const brand = env.MAIL_BRAND || 'mass-refund';
  const supportEmail = env.MAIL_SUPPORT_EMAIL || sender;
  return {
    sender,
    senderName: env.MAIL_SENDER_NAME || brand,
    replyTo: (env.MAIL_REPLY_TO || supportEmail).split(',').map((s) => s.trim()).filter(Boolean),
    brand,
    supportEmail,
    supportPhone: env.MAIL_SUPPORT_PHONE || null,
    shopUrl: env.MAIL_SHOP_URL || 'https://tickets.example.com',
    ...(env.SES_CONFIGURATION_SET ? { configurationSet: env.SES_CONFIGURATION_SET } : {}),
  };
}

/** `"Display Name" <address>`, the name RFC 2047-encoded when it is not plain ASCII (SES requires it). */
export function fromHeader(name: string, address: string): string {
  if (!name) return address;
  const ascii = /^[\x20-\x7e]*$/.test(name);
  const display = ascii ? `"${name.replace(/["\\]/g, '\\$&')}"` : `=?UTF-8?B?${Buffer.from(name, 'utf8').toString('base64')}?=`;
  return `${display} <${address}>`;
}

let cached: { key: string; client: SESClient } | undefined;

export class SesMailer implements Mailer {
  constructor(private readonly config: MailerConfig = mailerConfigFromEnv()) {}

  private client(): SESClient {
    const key = `${process.env.AWS_ENDPOINT_URL_SES ?? ''}|${process.env.AWS_REGION ?? ''}`;
    // One attempt: the SDK's own retry would resend after a lost answer, and SES has no idempotency key.
    if (!cached || cached.key !== key) cached = { key, client: new SESClient({ maxAttempts: 1, requestHandler: { requestTimeout: 10_000 } as never }) };
    return cached.client;
  }

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const out = await this.client().send(
      new SendEmailCommand({
        Source: fromHeader(this.config.senderName, this.config.sender),
        Destination: { ToAddresses: [email.to] },
        ReplyToAddresses: this.config.replyTo,
        Message: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: email.text, Charset: 'UTF-8' }, Html: { Data: email.html, Charset: 'UTF-8' } },
        },
        ...(this.config.configurationSet ? { ConfigurationSetName: this.config.configurationSet } : {}),
        ...(email.tags ? { Tags: Object.entries(email.tags).map(([Name, Value]) => ({ Name, Value })) } : {}),
      }),
    );
    return { messageId: out.MessageId ?? '' };
  }

  /** What an error of `send` means for the email (`classifySendError`). */
  classify(error: unknown): SendErrorClass {
    return classifySendError(error);
  }
}

/**
 * What an SES error means for the email:
 * - throttled: over the sending rate; not sent, send it later (no attempt counted);
 * - stop: nothing more can go out now (daily quota reached, account or configuration set paused,
 *   sender not verified); not sent, the run stops and the next one retries;
 * - rejected: this email was refused (bad address, content); not sent, counts as an attempt;
 * - unknown: no answer (time-out, connection lost): it may have gone out, so it is never resent.
 */
export type { SendErrorClass };

const STOP_ERRORS = new Set(['AccountSendingPausedException', 'ConfigurationSetSendingPausedException', 'ConfigurationSetDoesNotExistException', 'MailFromDomainNotVerifiedException', 'MailerConfigurationError']);

export function classifySendError(error: unknown): SendErrorClass {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'MailerConfigurationError') return 'stop';
  if (status === undefined) return 'unknown';
  if (e.name === 'Throttling' || e.name === 'ThrottlingException' || e.name === 'TooManyRequestsException') {
    return /daily message quota/i.test(e.message ?? '') ? 'stop' : 'throttled';
  }
  if (STOP_ERRORS.has(e.name ?? '') || /not verified/i.test(e.message ?? '')) return 'stop';
  // SES answered 5xx: it did not take the message; like throttling, try again later.
  if (status >= 500) return 'throttled';
  return 'rejected';
}
