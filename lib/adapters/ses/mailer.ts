import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import type { RenderedEmail } from '../../core/refund-emails.ts';
import { DomainError } from '../../core/errors.ts';

/** The mailer port: one email out, or a typed refusal. */
export interface Mailer {
  send(to: string, email: RenderedEmail): Promise<{ messageId: string }>;
}

export class MailerConfigurationError extends DomainError {
  override readonly name: string = 'MailerConfigurationError';
}

let cached: { key: string; client: SESClient } | undefined;

/** SES v1 SendEmail (the local SES server speaks it too); the endpoint comes from AWS_ENDPOINT_URL_SES. */
export class SesMailer implements Mailer {
  private readonly sender: string;
  constructor(sender = process.env.MAIL_SENDER) {
    if (!sender) throw new MailerConfigurationError('MAIL_SENDER is not set: no sender address for refund emails');
    this.sender = sender;
  }

  private client(): SESClient {
    const key = `${process.env.AWS_ENDPOINT_URL_SES ?? ''}|${process.env.AWS_REGION ?? ''}`;
    if (!cached || cached.key !== key) cached = { key, client: new SESClient({ maxAttempts: 3, requestHandler: { requestTimeout: 10_000 } as never }) };
    return cached.client;
  }

  async send(to: string, email: RenderedEmail): Promise<{ messageId: string }> {
    const out = await this.client().send(
      new SendEmailCommand({
        Source: this.sender,
        Destination: { ToAddresses: [to] },
        Message: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: email.text, Charset: 'UTF-8' }, Html: { Data: email.html, Charset: 'UTF-8' } },
        },
      }),
    );
    return { messageId: out.MessageId ?? '' };
  }
}
