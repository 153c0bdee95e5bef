import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifySendError, fromHeader, mailerConfigFromEnv, SesMailer } from '../../../lib/adapters/ses/mailer.ts';
import { startSesServer, type LocalSesServer } from '../../../lib/local/ses-server.ts';

const sesError = (name: string, message: string, status?: number) => Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

describe('classifySendError', () => {
  it('reads what an SES answer means for the outbox', () => {
    expect(classifySendError(sesError('Throttling', 'Maximum sending rate exceeded.', 400))).toBe('throttled');
    expect(classifySendError(sesError('Throttling', 'Daily message quota exceeded.', 400))).toBe('stop');
    expect(classifySendError(sesError('AccountSendingPausedException', 'paused', 400))).toBe('stop');
    expect(classifySendError(sesError('MessageRejected', 'Email address is not verified.', 400))).toBe('stop');
    expect(classifySendError(sesError('MessageRejected', 'Address blacklisted.', 400))).toBe('rejected');
    expect(classifySendError(sesError('InternalFailure', 'oops', 500))).toBe('throttled');
    // No answer at all: it may have been sent.
    expect(classifySendError(sesError('TimeoutError', 'socket hang up'))).toBe('unknown');
  });
});

describe('the SES mailer', () => {
  let ses: LocalSesServer;
  const saved = { ...process.env };
  beforeAll(async () => {
    ses = await startSesServer();
    Object.assign(process.env, { AWS_ENDPOINT_URL_SES: ses.url, AWS_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  });
  afterAll(async () => {
    process.env = saved;
    await new Promise((r) => ses.server.close(r));
  });

  it('sends as the configured display name with the Reply-To, the name encoded when it is not ASCII', async () => {
    // prepare
    expect(fromHeader('Billetterie Genève', 'refunds@example.ch')).toBe(`=?UTF-8?B?${Buffer.from('Billetterie Genève').toString('base64')}?= <refunds@example.ch>`);
    expect(fromHeader('Example "Tickets"', 'a@b.ch')).toBe('"Example \\"Tickets\\"" <a@b.ch>');
    const config = mailerConfigFromEnv({ MAIL_SENDER: 'refunds@example.ch', MAIL_SENDER_NAME: 'Billetterie Genève', MAIL_REPLY_TO: 'help@example.ch', MAIL_BRAND: 'Billetterie' });
    // act
    const { messageId } = await new SesMailer(config).send({ to: 'anna@example.org', subject: 'Grüsse', text: 'Text', html: '<p>HTML</p>', language: 'de', tags: { kind: 'credited' } });
    // assess
    const store = (await (await fetch(`${ses.url}/store`)).json()) as { emails: { messageId: string; from: string; replyTo: string[]; subject: string }[] };
    const mail = store.emails.find((m) => m.messageId === messageId)!;
    expect(mail.from).toBe(fromHeader('Billetterie Genève', 'refunds@example.ch'));
    expect(mail.replyTo).toEqual(['help@example.ch']);
    expect(mail.subject).toBe('Grüsse');
  });

  it('surfaces the quota the way SES answers it, as an error the outbox reads as throttled', async () => {
    ses.setQuota({ maxSendRate: 1 });
    const mailer = new SesMailer(mailerConfigFromEnv({ MAIL_SENDER: 'refunds@example.ch' }));
    const send = () => mailer.send({ to: 'a@example.org', subject: 's', text: 't', html: '<p>h</p>', language: 'en' });
    await send();
    const error = await send().catch((e: unknown) => e);
    expect(classifySendError(error)).toBe('throttled');
    expect((error as Error).name).toBe('Throttling');
    ses.setQuota({});
  });

  it('refuses to start without a sender address', () => {
    expect(() => mailerConfigFromEnv({})).toThrow(/MAIL_SENDER is not set/);
  });
});
