import type { EmailLanguage } from './format.ts';
import type { MailSettings, NotificationKind, RefundEmailInput } from '../refund-emails.ts';
import type { CreditPolicy } from '../refund-lifecycle.ts';

/**
 * One example of every email, per language: what `npm run emails:render` renders to PNG and
 * test/core/refund-emails.test.ts reads. Invented people and events.
 */
export const SAMPLE_SETTINGS: MailSettings = {
  brand: 'Example Tickets',
  supportEmail: 'support@tickets.example.ch',
  supportPhone: '+41 44 123 45 67',
  shopUrl: 'https://tickets.example.ch',
};

export const SAMPLE_EVENT = { name: 'FC Example – FC Sample', startsAt: '2026-07-12T18:00:00+02:00' };
export const SAMPLE_EURO_EVENT = { name: 'The Sample Orchestra – Summer Night', startsAt: '2026-07-19T20:00:00+02:00' };

const NAMES: Record<EmailLanguage, string> = { de: 'Anna Muster', fr: 'Léa Dupont', it: 'Giulia Rossi', es: 'Lucía García', en: 'Oliver Smith' };

export interface EmailSample {
  /** File-name friendly: kind plus variant. */
  id: string;
  kind: NotificationKind;
  input: RefundEmailInput;
}

export function emailSamples(lang: EmailLanguage, settings: MailSettings = SAMPLE_SETTINGS): EmailSample[] {
  const chf = (amount: number) => ({ amount, currency: 'CHF' });
  const customer = { language: lang, recipientName: NAMES[lang], recipientKind: 'customer' as const, settings };
  const late = (policy: CreditPolicy): EmailSample => ({
    id: `late_failure-${policy}`,
    kind: 'late_failure',
    input: { ...customer, kind: 'late_failure', orderId: 'O-10482', creditPolicy: policy, refunds: [{ orderId: 'O-10482', amount: chf(8950), method: 'card', reason: 'cancellation', event: SAMPLE_EVENT }] },
  });
  return [
    {
      id: 'refunded_to_card',
      kind: 'refunded_to_card',
      input: { ...customer, kind: 'refunded_to_card', orderId: 'O-10482', refunds: [{ orderId: 'O-10482', amount: chf(123450), method: 'card', reason: 'cancellation', event: SAMPLE_EVENT }] },
    },
    {
      id: 'refunded_to_card-partial',
      kind: 'refunded_to_card',
      input: {
        ...customer,
        kind: 'refunded_to_card',
        orderId: 'O-20917',
        refunds: [{ orderId: 'O-20917', amount: { amount: 5490, currency: 'EUR' }, method: 'amazon_pay', reason: 'partial_refund', percentHundredths: 6000, event: SAMPLE_EURO_EVENT }],
      },
    },
    {
      id: 'credited',
      kind: 'credited',
      input: { ...customer, kind: 'credited', orderId: 'O-11230', refunds: [{ orderId: 'O-11230', amount: chf(6250), method: 'klarna', reason: 'cancellation', event: SAMPLE_EVENT }] },
    },
    {
      id: 'credited-card-declined',
      kind: 'credited',
      input: { ...customer, kind: 'credited', orderId: 'O-10482', refunds: [{ orderId: 'O-10482', amount: chf(8950), method: 'card', reason: 'cancellation', event: SAMPLE_EVENT, pspFailed: true }] },
    },
    late('fallback'),
    late('never'),
    {
      id: 'returned_to_account',
      kind: 'returned_to_account',
      input: {
        language: lang,
        recipientName: 'Billetterie Romande SA',
        recipientKind: 'agency',
        settings,
        kind: 'returned_to_account',
        orderId: 'O-30001',
        refunds: [
          { orderId: 'O-30001', amount: chf(12000), method: 'intermediate_account', reason: 'cancellation', event: SAMPLE_EVENT },
          { orderId: 'O-30017', amount: chf(349500), method: 'intermediate_account', reason: 'cancellation', event: SAMPLE_EVENT },
          { orderId: 'O-30342', amount: chf(6000), method: 'intermediate_account', reason: 'cancellation', event: SAMPLE_EVENT },
        ],
      },
    },
    {
      id: 'cancellation_notice',
      kind: 'cancellation_notice',
      input: { ...customer, kind: 'cancellation_notice', orderId: 'O-10482', refunds: [], notice: { event: SAMPLE_EVENT, tickets: 2, refund: [chf(18300)] } },
    },
  ];
}
