import { de } from './emails/catalogue/de.ts';
import { en } from './emails/catalogue/en.ts';
import { es } from './emails/catalogue/es.ts';
import { fr } from './emails/catalogue/fr.ts';
import { it } from './emails/catalogue/it.ts';
import type { Catalogue, MessageKey } from './emails/catalogue/keys.ts';
import { emailLanguage, formatAmounts, formatList, formatPercent, performanceDateParts, pluralCategory, sumByCurrency, formatAmount, type EmailLanguage } from './emails/format.ts';
import type { Money } from './money.ts';
import { REFUNDABLE_TO_SOURCE, type PaymentMethod, type RefundReason } from './model.ts';
import type { CreditPolicy } from './refund-lifecycle.ts';

export { EMAIL_LANGUAGES, emailLanguage, type EmailLanguage } from './emails/format.ts';

/**
 * The emails customers and agencies get, in their language (de, fr, it, es, en), as text and
 * HTML. Every word comes from one catalogue per language (lib/core/emails/catalogue/*.ts);
 * this module only decides which messages an email is made of, from the facts of the refunds.
 * Pure: no I/O, no clock.
 */

/** What an outbox mark owes: one email per order and kind (an agency's returns: one email lists its orders). */
export const NOTIFICATION_KINDS = ['refunded_to_card', 'credited', 'returned_to_account', 'late_failure', 'cancellation_notice'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const CATALOGUES: Readonly<Record<EmailLanguage, Catalogue>> = { de, fr, it, es, en };

/** The performance an email is about, as the catalog holds it. */
export interface EmailEvent {
  name: string;
  /** ISO date-time with the venue's offset: the email shows that wall-clock time. */
  startsAt: string;
}

export interface EmailRefund {
  orderId: string;
  amount: Money;
  method: PaymentMethod;
  reason: RefundReason;
  event?: EmailEvent | null;
  /** A partial refund's percentage, in hundredths (60 % = 6000). */
  percentHundredths?: number | null;
  /** The PSP declined it before it was credited: the credit email says why the card got nothing. */
  pspFailed?: boolean;
}

/** The operator's settings every email uses (CDK context -> Lambda environment). */
export interface MailSettings {
  /** The operator's name as customers know it (sender display name, signature). */
  brand: string;
  supportEmail: string;
  supportPhone?: string | null;
  /** The ticket shop where a credit balance is used. */
  shopUrl: string;
}

export interface RefundEmailInput {
  kind: NotificationKind;
  /** The recipient's language; anything we do not write falls back to English. */
  language: string;
  recipientName: string;
  recipientKind: 'customer' | 'agency';
  /** The order the email is about (an agency's return email: the first of its orders). */
  orderId: string;
  /** The refunds of this order and kind (for returned_to_account: of every order the email lists). */
  refunds: readonly EmailRefund[];
  settings: MailSettings;
  /** late_failure: the credit policy of the run that refunded it decides what happens next. */
  creditPolicy?: CreditPolicy;
  /** cancellation_notice: what was cancelled and what will be refunded. */
  notice?: { event: EmailEvent | null; tickets: number; refund: readonly Money[] };
}

export interface RenderedEmail {
  language: EmailLanguage;
  subject: string;
  text: string;
  html: string;
}

// ---- filling messages --------------------------------------------------------------------

/** A placeholder's value: text, a link, or text that must not wrap (an order number, an amount). */
type Value = string | { text: string; href?: string; nowrap?: boolean };
type Segment = { text: string; href?: string; nowrap?: boolean };

/** A message with its `{placeholders}` filled; an unknown placeholder stays visible (a test fails on it). */
function fill(template: string, params: Record<string, Value>): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    const value = params[m[1] as string];
    if (value === undefined) continue;
    out.push({ text: template.slice(last, m.index) });
    out.push(typeof value === 'string' ? { text: value } : value);
    last = (m.index as number) + m[0].length;
  }
  out.push({ text: template.slice(last) });
  return out.filter((s) => s.text !== '');
}

const plain = (segments: Segment[]) => segments.map((s) => s.text).join('');
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const html = (segments: Segment[]) =>
  segments
    .map((s) => {
      if (s.href) return `<a href="${escapeHtml(s.href)}" style="color:#1f4e8c">${escapeHtml(s.text)}</a>`;
      return s.nowrap ? `<span style="white-space:nowrap">${escapeHtml(s.text)}</span>` : escapeHtml(s.text);
    })
    .join('');

/** The parts of one email, before they become text and HTML. */
interface Document {
  subject: string;
  greeting: Segment[];
  paragraphs: Segment[][];
  details: { label: string; value: string }[];
  table?: { headers: string[]; rows: string[][]; total: string[] };
  after: Segment[][];
  footer: Segment[];
}

// ---- the emails --------------------------------------------------------------------------

class Writer {
  readonly c: Catalogue;
  readonly base: Record<string, Value>;
  constructor(
    readonly lang: EmailLanguage,
    readonly input: RefundEmailInput,
  ) {
    this.c = CATALOGUES[lang];
    const s = input.settings;
    this.base = {
      name: input.recipientName,
      brand: s.brand,
      order: { text: input.orderId, nowrap: true },
      supportEmail: { text: s.supportEmail, href: `mailto:${s.supportEmail}` },
      supportPhone: s.supportPhone ?? '',
      shopUrl: { text: s.shopUrl.replace(/^https?:\/\//, '').replace(/\/$/, ''), href: s.shopUrl },
    };
  }

  msg(key: MessageKey, params: Record<string, Value> = {}): Segment[] {
    const keep = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' && (k === 'amount' || k === 'count') ? { text: v, nowrap: true } : v]));
    return fill(this.c[key], { ...this.base, ...keep });
  }
  text(key: MessageKey, params: Record<string, Value> = {}): string {
    return plain(this.msg(key, params));
  }

  /** The distinct performances of the refunds, in order of appearance. */
  events(refunds: readonly EmailRefund[]): EmailEvent[] {
    const seen = new Map<string, EmailEvent>();
    for (const r of refunds) if (r.event) seen.set(`${r.event.name}|${r.event.startsAt}`, r.event);
    return [...seen.values()];
  }

  dateTime(e: EmailEvent): string | null {
    const parts = performanceDateParts(e.startsAt, this.lang);
    return parts ? this.text('dateTime', parts) : null;
  }

  eventRows(events: readonly EmailEvent[]): { label: string; value: string }[] {
    return events.flatMap((e) => {
      const when = this.dateTime(e);
      return [{ label: this.text('label.event'), value: e.name }, ...(when ? [{ label: this.text('label.date'), value: when }] : [])];
    });
  }

  reasons(refunds: readonly EmailRefund[]): string {
    const texts = refunds.map((r) => {
      if (r.reason !== 'partial_refund') return this.text(`reason.${r.reason}`);
      return r.percentHundredths ? this.text('reason.partial_refund', { percent: formatPercent(r.percentHundredths, this.lang) }) : this.text('reason.partial_refund_unknown');
    });
    return [...new Set(texts)].join('; ');
  }

  methods(refunds: readonly EmailRefund[]): string {
    return formatList([...new Set(refunds.map((r) => this.text(`method.${r.method}`)))], this.lang);
  }

  amount(refunds: readonly EmailRefund[]): string {
    return formatAmounts(refunds.map((r) => r.amount), this.lang);
  }

  subject(events: readonly EmailEvent[], withEvent: MessageKey, withoutEvent: MessageKey): string {
    return events.length === 1 ? this.text(withEvent, { event: (events[0] as EmailEvent).name }) : this.text(withoutEvent);
  }

  supportLine(): Segment[] {
    return this.input.settings.supportPhone ? this.msg('supportWithPhone') : this.msg('support');
  }

  document(): Document {
    const { input } = this;
    const base = {
      greeting: this.msg(input.recipientKind === 'agency' ? 'greetingAgency' : 'greeting'),
      footer: this.msg(input.recipientKind === 'agency' ? 'footer.agency' : 'footer.customer'),
    };
    switch (input.kind) {
      case 'refunded_to_card':
        return { ...base, ...this.refundedToCard() };
      case 'credited':
        return { ...base, ...this.credited() };
      case 'late_failure':
        return { ...base, ...this.lateFailure() };
      case 'returned_to_account':
        return { ...base, ...this.returnedToAccount() };
      case 'cancellation_notice':
        return { ...base, ...this.cancellationNotice() };
    }
  }

  private orderDetails(refunds: readonly EmailRefund[], refundedTo: string[]): Document['details'] {
    return [
      ...this.eventRows(this.events(refunds)),
      { label: this.text('label.order'), value: this.input.orderId },
      { label: this.text('label.reason'), value: this.reasons(refunds) },
      { label: this.text('label.amount'), value: this.amount(refunds) },
      { label: this.text('label.paidWith'), value: this.methods(refunds) },
      ...(refundedTo.length ? [{ label: this.text('label.refundedTo'), value: formatList(refundedTo, this.lang) }] : []),
    ];
  }

  private refundedToCard(): Omit<Document, 'greeting' | 'footer'> {
    const refunds = this.input.refunds;
    const allResale = refunds.every((r) => r.reason === 'resale');
    const methods = new Set(refunds.map((r) => r.method));
    const paragraphs = [this.msg(allResale ? 'card.introResale' : 'card.intro', { amount: this.amount(refunds) })];
    const destinations: string[] = [];
    if (methods.has('amazon_pay')) {
      paragraphs.push([...this.msg('card.toAmazonPay'), { text: ' ' }, ...this.msg('card.whenAmazonPay')]);
      destinations.push(this.text('destination.amazon_pay'));
    }
    if (!methods.has('amazon_pay') || methods.size > 1) {
      paragraphs.push([...this.msg('card.toCard'), { text: ' ' }, ...this.msg('card.whenCard')]);
      destinations.unshift(this.text('destination.card'));
    }
    return {
      subject: this.subject(this.events(refunds), 'card.subject', 'card.subjectOrder'),
      paragraphs,
      details: this.orderDetails(refunds, destinations),
      after: [this.msg('card.noAction'), this.supportLine()],
    };
  }

  private credited(): Omit<Document, 'greeting' | 'footer'> {
    const refunds = this.input.refunds;
    const allResale = refunds.every((r) => r.reason === 'resale');
    const paragraphs = [this.msg(allResale ? 'credit.introResale' : 'credit.intro', { amount: this.amount(refunds) })];
    if (refunds.some((r) => r.pspFailed)) paragraphs.push(this.msg('credit.whyCardFailed'));
    const notToSource = refunds.filter((r) => !REFUNDABLE_TO_SOURCE.has(r.method));
    if (notToSource.length) paragraphs.push(this.msg('credit.whyMethod', { methods: this.methods(notToSource) }));
    paragraphs.push([...this.msg('credit.available'), { text: ' ' }, ...this.msg('credit.howToUse')]);
    return {
      subject: this.subject(this.events(refunds), 'credit.subject', 'credit.subjectOrder'),
      paragraphs,
      details: this.orderDetails(refunds, [this.text('destination.credit')]),
      after: [this.msg('credit.payout'), this.supportLine()],
    };
  }

  private lateFailure(): Omit<Document, 'greeting' | 'footer'> {
    const refunds = this.input.refunds;
    const paragraphs: Segment[][] = [];
    const byAmazon = refunds.filter((r) => r.method === 'amazon_pay');
    const byCard = refunds.filter((r) => r.method !== 'amazon_pay');
    if (byCard.length) paragraphs.push(this.msg('late.introCard', { amount: this.amount(byCard) }));
    if (byAmazon.length) paragraphs.push(this.msg('late.introAmazonPay', { amount: this.amount(byAmazon) }));
    // What really happens next depends on the credit policy: `never` leaves the refund failed for a person to settle.
    const policy = this.input.creditPolicy ?? 'fallback';
    const next = policy === 'never' ? [this.msg('late.contact')] : [[...this.msg('late.credit')], this.msg('late.payout')];
    const [first, ...rest] = next;
    paragraphs.push([...this.msg('late.notLost'), { text: ' ' }, ...(first as Segment[])]);
    return {
      subject: this.subject(this.events(refunds), 'late.subject', 'late.subjectOrder'),
      paragraphs,
      details: this.orderDetails(refunds, []),
      after: [...rest, this.supportLine()],
    };
  }

  private returnedToAccount(): Omit<Document, 'greeting' | 'footer'> {
    const refunds = this.input.refunds;
    const events = this.events(refunds);
    // One row per order, in the order given, amounts summed per currency.
    const orders = new Map<string, EmailRefund[]>();
    for (const r of refunds) orders.set(r.orderId, [...(orders.get(r.orderId) ?? []), r]);
    // The event column only when the orders are for several events (each named with its date above).
    const several = events.length > 1;
    const rows = [...orders.entries()].map(([orderId, rs]) => [orderId, ...(several ? [this.events(rs).map((e) => e.name).join(', ')] : []), this.amount(rs)]);
    return {
      subject: this.subject(events, 'agency.subject', 'agency.subjectOrders'),
      paragraphs: [this.msg('agency.intro')],
      details: this.eventRows(events),
      table: {
        headers: [this.text('label.order'), ...(several ? [this.text('label.event')] : []), this.text('label.amount')],
        rows,
        total: [this.text('label.total'), ...(several ? [''] : []), this.amount(refunds)],
      },
      after: [this.msg('agency.invoice'), this.supportLine()],
    };
  }

  private cancellationNotice(): Omit<Document, 'greeting' | 'footer'> {
    const notice = this.input.notice ?? { event: null, tickets: 0, refund: [] };
    const count = Math.max(1, notice.tickets);
    const plural = pluralCategory(count, this.lang);
    const event = notice.event;
    const when = event ? this.dateTime(event) : null;
    const intro =
      event && when
        ? this.msg(`notice.intro.${plural}`, { event: event.name, dateTime: when, count: String(count) })
        : this.msg(`notice.introNoDate.${plural}`, { count: String(count) });
    const refund = sumByCurrency(notice.refund).filter((m) => m.amount > 0);
    const paragraphs = [[...intro, { text: ' ' }, ...this.msg(`notice.invalid.${plural}`)]];
    if (refund.length) paragraphs.push(this.msg('notice.refund', { amount: formatList(refund.map((m) => formatAmount(m, this.lang)), this.lang) }));
    return {
      subject: event ? this.text('notice.subject', { event: event.name }) : this.text('notice.subjectOrder'),
      paragraphs,
      details: [
        ...(event ? this.eventRows([event]) : []),
        { label: this.text('label.order'), value: this.input.orderId },
        { label: this.text('label.tickets'), value: String(count) },
        ...(refund.length ? [{ label: this.text('label.amount'), value: formatList(refund.map((m) => formatAmount(m, this.lang)), this.lang) }] : []),
      ],
      after: [this.msg('notice.thanks'), this.supportLine()],
    };
  }
}

// ---- text and HTML -----------------------------------------------------------------------

function toText(doc: Document, w: Writer): string {
  const lines: string[] = [plain(doc.greeting), ''];
  for (const p of doc.paragraphs) lines.push(plain(p), '');
  if (doc.details.length) {
    const labels = doc.details.map((d) => w.text('detailLabel', { label: d.label }));
    const width = Math.max(...labels.map((l) => l.length));
    for (const [i, d] of doc.details.entries()) lines.push(`${(labels[i] as string).padEnd(width + 1)}${d.value}`);
    lines.push('');
  }
  if (doc.table) {
    const all = [doc.table.headers, ...doc.table.rows, doc.table.total];
    const widths = doc.table.headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
    const row = (r: string[]) => r.map((cell, i) => (i === r.length - 1 ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join('  ').trimEnd();
    lines.push(row(doc.table.headers), ...doc.table.rows.map(row), row(doc.table.total), '');
  }
  for (const p of doc.after) lines.push(plain(p), '');
  lines.push(w.text('signoff'), w.text('signature'), '', '--', plain(doc.footer));
  return lines.join('\n');
}

const FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";

function toHtml(doc: Document, w: Writer): string {
  const p = (segments: Segment[]) => `<p style="margin:0 0 14px">${html(segments)}</p>`;
  const details = doc.details.length
    ? `<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse;margin:4px 0 18px;background:#f6f7f9;border-radius:6px">${doc.details
        .map((d) => `<tr><td style="padding:7px 14px;color:#5b6472;white-space:nowrap;vertical-align:top">${escapeHtml(d.label)}</td><td style="padding:7px 14px;color:#1d2430;font-weight:600">${escapeHtml(d.value)}</td></tr>`)
        .join('')}</table>`
    : '';
  const table = doc.table
    ? `<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse;margin:4px 0 18px">` +
      `<tr>${doc.table.headers.map((h, i, all) => `<th style="text-align:${i === all.length - 1 ? 'right' : 'left'};padding:7px 10px;border-bottom:2px solid #d5d9e0;color:#5b6472;font-weight:600">${escapeHtml(h)}</th>`).join('')}</tr>` +
      doc.table.rows.map((r) => `<tr>${r.map((c, i) => `<td style="text-align:${i === r.length - 1 ? 'right' : 'left'};padding:7px 10px;border-bottom:1px solid #e6e9ee;white-space:${i === r.length - 1 ? 'nowrap' : 'normal'}">${escapeHtml(c)}</td>`).join('')}</tr>`).join('') +
      `<tr>${doc.table.total.map((c, i, all) => `<td style="text-align:${i === all.length - 1 ? 'right' : 'left'};padding:9px 10px;font-weight:700;white-space:nowrap">${escapeHtml(c)}</td>`).join('')}</tr></table>`
    : '';
  const brand = escapeHtml(w.input.settings.brand);
  return (
    `<!doctype html><html lang="${w.lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(doc.subject)}</title></head>` +
    `<body style="margin:0;padding:0;background:#eef0f3">` +
    `<div style="display:none;max-height:0;overflow:hidden">${html(doc.paragraphs[0] ?? [])}</div>` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#eef0f3"><tr><td align="center" style="padding:28px 12px">` +
    `<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;max-width:600px;background:#ffffff;border-radius:10px;${FONT};color:#1d2430;font-size:15px;line-height:1.55">` +
    `<tr><td style="background:#1f3a5f;color:#ffffff;padding:18px 28px;font-size:17px;font-weight:700;border-radius:10px 10px 0 0">${brand}</td></tr>` +
    `<tr><td style="padding:26px 28px 8px">` +
    p(doc.greeting) +
    doc.paragraphs.map(p).join('') +
    details +
    table +
    doc.after.map(p).join('') +
    `<p style="margin:18px 0 14px">${escapeHtml(w.text('signoff'))}<br>${escapeHtml(w.text('signature'))}</p>` +
    `</td></tr>` +
    `<tr><td style="padding:14px 28px 20px;border-top:1px solid #e6e9ee;color:#7a8290;font-size:12px;line-height:1.5">${html(doc.footer)}</td></tr>` +
    `</table></td></tr></table></body></html>`
  );
}

/** One email, in the recipient's language, as text and HTML. */
export function renderRefundEmail(input: RefundEmailInput): RenderedEmail {
  const lang = emailLanguage(input.language);
  const writer = new Writer(lang, input);
  const doc = writer.document();
  return { language: lang, subject: doc.subject, text: toText(doc, writer), html: toHtml(doc, writer) };
}

