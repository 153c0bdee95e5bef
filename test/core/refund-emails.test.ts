import { describe, expect, it } from 'vitest';
import { renderRefundEmail } from '../../lib/core/refund-emails.ts';

describe('refund emails', () => {
  it('tells a customer in German that the money is on its way to the card, amount formatted exactly', () => {
    const email = renderRefundEmail({ kind: 'refunded_to_card', language: 'de', recipientName: 'Anna', orderId: 'O1', refunds: [{ amount: { amount: 1030050, currency: 'CHF' }, method: 'card' }] });
    expect(email.subject).toBe('Ihre Rückerstattung für Bestellung O1');
    expect(email.text).toMatch(/CHF\s10'300\.50/);
    expect(email.text).toContain('unterwegs auf Ihre Karte');
    expect(email.html).toContain('<html lang="de">');
  });

  it('words credits, agency returns and late failures in fr, es and en, summing one order per currency', () => {
    const fr = renderRefundEmail({ kind: 'credited', language: 'fr', recipientName: 'Luc', orderId: 'O2', refunds: [{ amount: { amount: 500, currency: 'EUR' }, method: 'klarna' }, { amount: { amount: 250, currency: 'EUR' }, method: 'sofort' }] });
    expect(fr.text).toContain("compte d'avoir");
    expect(fr.text).toMatch(/7\.50\s€/);
    const es = renderRefundEmail({ kind: 'returned_to_account', language: 'es', recipientName: 'Tickets SA', orderId: 'O3', refunds: [{ amount: { amount: 1000, currency: 'CHF' }, method: 'intermediate_account' }] });
    expect(es.text).toContain('cuenta en espera');
    const en = renderRefundEmail({ kind: 'late_failure', language: 'xx', recipientName: 'Sam <b>', orderId: 'O4', refunds: [{ amount: { amount: 1000, currency: 'JPY' }, method: 'card' }] });
    expect(en.text).toContain('¥1,000');
    expect(en.html).toContain('Sam &lt;b&gt;');
  });
});
