import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MESSAGE_KEYS, type MessageKey } from '../../lib/core/emails/catalogue/keys.ts';
import { formatAmount, formatPercent, performanceDateParts } from '../../lib/core/emails/format.ts';
import { emailSamples, SAMPLE_EVENT, SAMPLE_SETTINGS } from '../../lib/core/emails/samples.ts';
import { minorDigits, toDecimalString } from '../../lib/core/money.ts';
import { CATALOGUES, EMAIL_LANGUAGES, NOTIFICATION_KINDS, renderRefundEmail, type EmailLanguage, type RefundEmailInput } from '../../lib/core/refund-emails.ts';

/** Spaces as people see them: Intl writes narrow and no-break spaces in fr/it amounts. */
const norm = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const msg = (lang: EmailLanguage, key: MessageKey) => CATALOGUES[lang][key];
/** The fixed words of a message (what stays once its placeholders are filled): enough to find it in an email. */
const words = (lang: EmailLanguage, key: MessageKey) => norm(msg(lang, key)).split(/\{\w+\}/).map((p) => p.trim()).filter((p) => p.length >= 8);
const contains = (text: string, lang: EmailLanguage, key: MessageKey) => words(lang, key).every((w) => norm(text).includes(w));

/** CHF 1234.50 as a reader of each language expects it (the sample's refund to a card). */
const CHF_123450: Record<EmailLanguage, string> = { de: "CHF 1'234.50", fr: '1 234.50 CHF', it: "CHF 1'234.50", es: '1.234,50 CHF', en: 'CHF 1,234.50' };
const EUR_5490: Record<EmailLanguage, string> = { de: '54,90 €', fr: '54,90 €', it: '54,90 €', es: '54,90 €', en: '€54.90' };
const DATE_12_JULY: Record<EmailLanguage, RegExp> = {
  de: /Sonntag, 12\. Juli 2026, 18:00 Uhr/,
  fr: /dimanche,? 12 juillet 2026 à 18:00/,
  it: /domenica,? 12 luglio 2026 alle ore 18:00/,
  es: /domingo, 12 de julio de 2026, a las 18:00/,
  en: /Sunday,? 12 July 2026 at 18:00/,
};

describe('the message catalogues', () => {
  it('define every message in every language, none empty, with the same placeholders as English and nothing extra', () => {
    for (const lang of EMAIL_LANGUAGES) {
      const catalogue = CATALOGUES[lang];
      expect(Object.keys(catalogue).sort(), lang).toEqual([...MESSAGE_KEYS].sort());
      for (const key of MESSAGE_KEYS) {
        expect(catalogue[key].trim().length, `${lang} ${key}`).toBeGreaterThan(0);
        expect(placeholders(catalogue[key]), `${lang} ${key}`).toEqual(placeholders(CATALOGUES.en[key]));
        // A translation left in English is a missing translation (names and the brand aside).
        if (lang !== 'en' && !/^(destination|method)\.amazon_pay$|^method\.(klarna|sofort)$|^label\.(total|tickets)$|^detailLabel$|^label\.date$/.test(key)) {
          expect(catalogue[key], `${lang} ${key} is still English`).not.toBe(CATALOGUES.en[key]);
        }
      }
    }
  });

  it('avoid the translationese the first emails had', () => {
    const all = EMAIL_LANGUAGES.flatMap((lang) => Object.values(CATALOGUES[lang])).join('\n');
    for (const phrase of ['unterwegs auf', 'saldo acreedor', 'cuenta en espera', 'ß']) expect(all).not.toContain(phrase);
  });
});

describe('every email kind in every language', () => {
  for (const lang of EMAIL_LANGUAGES) {
    const samples = emailSamples(lang);
    it(`${lang}: has every kind, all placeholders filled, the event, its date, the amount and the support contact`, () => {
      expect(new Set(samples.map((s) => s.kind))).toEqual(new Set(NOTIFICATION_KINDS));
      for (const sample of samples) {
        // act
        const email = renderRefundEmail(sample.input);
        // assess
        const what = `${lang} ${sample.id}`;
        expect(email.language).toBe(lang);
        for (const part of [email.subject, email.text, email.html]) {
          expect(part, what).not.toMatch(/\{\w*\}|undefined|NaN|\[object/);
        }
        const event = sample.input.notice?.event ?? sample.input.refunds[0]?.event;
        expect(email.subject, what).toContain(event?.name);
        expect(norm(email.text), what).toContain(event?.name);
        if (event === SAMPLE_EVENT) expect(norm(email.text), what).toMatch(DATE_12_JULY[lang]);
        expect(email.text, what).toContain(SAMPLE_SETTINGS.supportEmail);
        expect(email.text, what).toContain(SAMPLE_SETTINGS.supportPhone);
        expect(email.text, what).toContain(sample.input.orderId);
        expect(email.html, what).toContain(`<html lang="${lang}">`);
        expect(email.html, what).toContain(`href="mailto:${SAMPLE_SETTINGS.supportEmail}"`);
        expect(email.text, what).toContain(SAMPLE_SETTINGS.brand);
      }
    });

    it(`${lang}: writes amounts as people of that language do, in text and HTML`, () => {
      const card = renderRefundEmail(samples.find((s) => s.id === 'refunded_to_card')!.input);
      expect(norm(card.text)).toContain(CHF_123450[lang]);
      expect(norm(card.html)).toContain(CHF_123450[lang].replace("'", "'"));
      const euro = renderRefundEmail(samples.find((s) => s.id === 'refunded_to_card-partial')!.input);
      expect(norm(euro.text)).toContain(EUR_5490[lang]);
      expect(norm(euro.text)).toContain(norm(formatPercent(6000, lang))); // the partial refund's percentage
    });

    it(`${lang}: says where the money goes and how to use or pay out a credit`, () => {
      const text = (id: string) => renderRefundEmail(samples.find((s) => s.id === id)!.input).text;
      expect(contains(text('refunded_to_card'), lang, 'card.toCard')).toBe(true);
      expect(contains(text('refunded_to_card'), lang, 'card.whenCard')).toBe(true);
      expect(contains(text('refunded_to_card-partial'), lang, 'card.toAmazonPay')).toBe(true);
      expect(contains(text('refunded_to_card-partial'), lang, 'card.toCard')).toBe(false);
      for (const id of ['credited', 'credited-card-declined']) {
        expect(contains(text(id), lang, 'credit.howToUse'), id).toBe(true);
        expect(contains(text(id), lang, 'credit.payout'), id).toBe(true);
        expect(text(id)).toContain('tickets.example.ch');
      }
      expect(contains(text('credited'), lang, 'credit.whyMethod')).toBe(true);
      expect(contains(text('credited'), lang, 'credit.whyCardFailed')).toBe(false);
      expect(contains(text('credited-card-declined'), lang, 'credit.whyCardFailed')).toBe(true);
    });

    it(`${lang}: the late-failure email says what the credit policy will really do`, () => {
      const late = samples.find((s) => s.id === 'late_failure-fallback')!.input;
      for (const policy of ['fallback', 'always'] as const) {
        const text = renderRefundEmail({ ...late, creditPolicy: policy }).text;
        expect(contains(text, lang, 'late.credit'), policy).toBe(true);
        expect(contains(text, lang, 'late.contact'), policy).toBe(false);
      }
      const never = renderRefundEmail({ ...late, creditPolicy: 'never' }).text;
      expect(contains(never, lang, 'late.contact')).toBe(true);
      expect(contains(never, lang, 'late.credit')).toBe(false);
      expect(contains(never, lang, 'credit.howToUse')).toBe(false);
    });

    it(`${lang}: the agency email lists the returned amount of each order and their total`, () => {
      const input = samples.find((s) => s.kind === 'returned_to_account')!.input;
      const email = renderRefundEmail(input);
      for (const r of input.refunds) {
        const line = norm(email.text).split('\n').find((l) => l.startsWith(r.orderId));
        expect(line, r.orderId).toBeDefined();
        expect(line!.trimEnd().endsWith(norm(formatAmount(r.amount, lang)))).toBe(true);
        expect(norm(email.html)).toContain(norm(formatAmount(r.amount, lang)));
      }
      const total = input.refunds.reduce((s, r) => s + r.amount.amount, 0);
      expect(norm(email.text)).toContain(norm(formatAmount({ amount: total, currency: 'CHF' }, lang)));
      expect(contains(email.text, lang, 'greetingAgency')).toBe(true);
      expect(contains(email.text, lang, 'footer.agency')).toBe(true);
    });

    it(`${lang}: the cancellation notice counts the tickets and says the refund follows`, () => {
      const base = samples.find((s) => s.kind === 'cancellation_notice')!.input;
      const two = renderRefundEmail(base).text;
      expect(contains(two, lang, 'notice.invalid.other')).toBe(true);
      expect(contains(two, lang, 'notice.refund')).toBe(true);
      const one = renderRefundEmail({ ...base, notice: { ...base.notice!, tickets: 1, refund: [] } }).text;
      expect(contains(one, lang, 'notice.invalid.one')).toBe(true);
      expect(contains(one, lang, 'notice.refund')).toBe(false); // nothing to refund, nothing promised
    });
  }
});

describe('rendering details', () => {
  const input = (over: Partial<RefundEmailInput>): RefundEmailInput => ({
    kind: 'credited',
    language: 'de',
    recipientName: 'Anna',
    recipientKind: 'customer',
    orderId: 'O1',
    settings: SAMPLE_SETTINGS,
    refunds: [{ orderId: 'O1', amount: { amount: 500, currency: 'EUR' }, method: 'klarna', reason: 'cancellation' }],
    ...over,
  });

  it('falls back to English for a language we do not write, and to the order when no event is known', () => {
    const email = renderRefundEmail(input({ language: 'xx' }));
    expect(email.language).toBe('en');
    expect(email.subject).toBe('Credit for order O1');
    expect(renderRefundEmail(input({ language: 'fr-CH' })).language).toBe('fr');
    expect(renderRefundEmail(input({ language: 'it' })).subject).toBe('Il Suo credito per l’ordine O1');
  });

  it('sums one order per currency and escapes what the recipient typed', () => {
    const email = renderRefundEmail(
      input({
        language: 'en',
        recipientName: 'Sam <b>&',
        refunds: [
          { orderId: 'O1', amount: { amount: 500, currency: 'EUR' }, method: 'klarna', reason: 'cancellation' },
          { orderId: 'O1', amount: { amount: 250, currency: 'EUR' }, method: 'sofort', reason: 'cancellation' },
          { orderId: 'O1', amount: { amount: 1000, currency: 'JPY' }, method: 'voucher', reason: 'resale' },
        ],
      }),
    );
    expect(email.text).toContain('€7.50 and JP¥1,000');
    expect(email.text).toContain('Klarna, Sofort and voucher');
    expect(email.html).toContain('Sam &lt;b&gt;&amp;');
    expect(email.html).not.toContain('<b>&');
  });

  it('shows the performance date at the venue offset, whatever the machine time zone', () => {
    expect(performanceDateParts('2026-07-12T18:00:00+02:00', 'de')).toEqual({ date: 'Sonntag, 12. Juli 2026', time: '18:00' });
    expect(performanceDateParts('2026-12-31T23:30:00-05:00', 'en')?.date).toMatch(/Thursday,? 31 December 2026/);
    expect(performanceDateParts('2026-07-12', 'de')).toBeNull();
  });

  it('formats every amount exactly: the digits shown are the minor units, no float on the way (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EMAIL_LANGUAGES), fc.constantFrom('CHF', 'EUR', 'JPY', 'KWD', 'GBP'), fc.maxSafeInteger(), (lang, currency, amount) => {
        const shown = formatAmount({ amount, currency }, lang);
        const digitsOf = (s: string) => s.replace(/\D/g, '').replace(/^0+(?=\d)/, '');
        expect(digitsOf(shown)).toBe(digitsOf(toDecimalString(amount, minorDigits(currency))));
      }),
      { numRuns: 500 },
    );
  });
});
