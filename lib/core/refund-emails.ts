import { formatMoney, type Money } from './money.ts';
import type { PaymentMethod } from './model.ts';

/** What an outbox mark owes: one email per order and kind. */
export const NOTIFICATION_KINDS = ['refunded_to_card', 'credited', 'returned_to_account', 'late_failure'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const EMAIL_LANGUAGES = ['de', 'fr', 'es', 'en'] as const;
export type EmailLanguage = (typeof EMAIL_LANGUAGES)[number];

export interface RefundEmailInput {
  kind: NotificationKind;
  /** The recipient's language; anything else falls back to English. */
  language: string;
  recipientName: string;
  orderId: string;
  /** The refunds of this order and kind (several payments may be refunded at once). */
  refunds: { amount: Money; method: PaymentMethod }[];
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const LOCALES: Record<EmailLanguage, string> = { de: 'de-CH', fr: 'fr-CH', es: 'es-ES', en: 'en-GB' };

const METHOD_NAMES: Record<EmailLanguage, Partial<Record<PaymentMethod, string>>> = {
  de: { card: 'Ihre Karte', amazon_pay: 'Ihr Amazon-Pay-Konto' },
  fr: { card: 'votre carte', amazon_pay: 'votre compte Amazon Pay' },
  es: { card: 'su tarjeta', amazon_pay: 'su cuenta de Amazon Pay' },
  en: { card: 'your card', amazon_pay: 'your Amazon Pay account' },
};

interface Wording {
  subject: (order: string) => string;
  greeting: (name: string) => string;
  body: (amount: string, order: string, to: string) => string;
  closing: string;
}

/** Templates per kind and language. No card data: we only know the payment method. */
const TEMPLATES: Record<NotificationKind, Record<EmailLanguage, Wording>> = {
  refunded_to_card: {
    de: {
      subject: (o) => `Ihre Rückerstattung für Bestellung ${o}`,
      greeting: (n) => `Guten Tag ${n}`,
      body: (a, o, to) => `Die Rückerstattung von ${a} für Ihre Bestellung ${o} ist unterwegs auf ${to}. Je nach Bank kann die Gutschrift einige Tage dauern.`,
      closing: 'Freundliche Grüsse',
    },
    fr: {
      subject: (o) => `Votre remboursement pour la commande ${o}`,
      greeting: (n) => `Bonjour ${n}`,
      body: (a, o, to) => `Le remboursement de ${a} pour votre commande ${o} est en route vers ${to}. Selon votre banque, le crédit peut prendre quelques jours.`,
      closing: 'Meilleures salutations',
    },
    es: {
      subject: (o) => `Su reembolso del pedido ${o}`,
      greeting: (n) => `Hola ${n}`,
      body: (a, o, to) => `El reembolso de ${a} de su pedido ${o} está en camino a ${to}. Según su banco, el abono puede tardar unos días.`,
      closing: 'Saludos cordiales',
    },
    en: {
      subject: (o) => `Your refund for order ${o}`,
      greeting: (n) => `Hello ${n}`,
      body: (a, o, to) => `The refund of ${a} for your order ${o} is on its way to ${to}. Depending on your bank, it may take a few days to appear.`,
      closing: 'Kind regards',
    },
  },
  credited: {
    de: {
      subject: (o) => `Gutschrift für Bestellung ${o}`,
      greeting: (n) => `Guten Tag ${n}`,
      body: (a, o) => `Der Betrag von ${a} für Ihre Bestellung ${o} ist ab sofort auf Ihrem Guthabenkonto verfügbar. Sie können ihn für Ihre nächsten Einkäufe verwenden.`,
      closing: 'Freundliche Grüsse',
    },
    fr: {
      subject: (o) => `Avoir pour la commande ${o}`,
      greeting: (n) => `Bonjour ${n}`,
      body: (a, o) => `Le montant de ${a} pour votre commande ${o} est disponible sur votre compte d'avoir. Vous pouvez l'utiliser pour vos prochains achats.`,
      closing: 'Meilleures salutations',
    },
    es: {
      subject: (o) => `Saldo acreedor del pedido ${o}`,
      greeting: (n) => `Hola ${n}`,
      body: (a, o) => `El importe de ${a} de su pedido ${o} está disponible en su saldo acreedor. Puede utilizarlo en sus próximas compras.`,
      closing: 'Saludos cordiales',
    },
    en: {
      subject: (o) => `Credit for order ${o}`,
      greeting: (n) => `Hello ${n}`,
      body: (a, o) => `The amount of ${a} for your order ${o} is available on your credit account. You can use it for your next purchases.`,
      closing: 'Kind regards',
    },
  },
  returned_to_account: {
    de: {
      subject: (o) => `Rückbuchung auf Ihr Zwischenkonto: Bestellung ${o}`,
      greeting: (n) => `Guten Tag ${n}`,
      body: (a, o) => `Für die stornierte Bestellung ${o} wurden ${a} auf Ihr Zwischenkonto zurückgebucht. Ihre offenen Posten verringern sich entsprechend.`,
      closing: 'Freundliche Grüsse',
    },
    fr: {
      subject: (o) => `Retour sur votre compte d'attente : commande ${o}`,
      greeting: (n) => `Bonjour ${n}`,
      body: (a, o) => `Pour la commande annulée ${o}, ${a} ont été rendus sur votre compte d'attente. Vos postes ouverts diminuent d'autant.`,
      closing: 'Meilleures salutations',
    },
    es: {
      subject: (o) => `Devolución a su cuenta en espera: pedido ${o}`,
      greeting: (n) => `Hola ${n}`,
      body: (a, o) => `Por el pedido anulado ${o} se han devuelto ${a} a su cuenta en espera. Sus partidas abiertas se reducen en consecuencia.`,
      closing: 'Saludos cordiales',
    },
    en: {
      subject: (o) => `Returned to your intermediate account: order ${o}`,
      greeting: (n) => `Hello ${n}`,
      body: (a, o) => `For the cancelled order ${o}, ${a} has been returned to your intermediate account. Your open items are reduced accordingly.`,
      closing: 'Kind regards',
    },
  },
  late_failure: {
    de: {
      subject: (o) => `Rückerstattung für Bestellung ${o} nicht ausgeführt`,
      greeting: (n) => `Guten Tag ${n}`,
      body: (a, o, to) => `Die Rückerstattung von ${a} für Ihre Bestellung ${o} auf ${to} wurde nachträglich abgelehnt. Wir erstatten den Betrag erneut und informieren Sie, sobald er verfügbar ist.`,
      closing: 'Freundliche Grüsse',
    },
    fr: {
      subject: (o) => `Remboursement de la commande ${o} non abouti`,
      greeting: (n) => `Bonjour ${n}`,
      body: (a, o, to) => `Le remboursement de ${a} pour votre commande ${o} vers ${to} a finalement été refusé. Nous allons vous rembourser à nouveau et vous informerons dès que le montant sera disponible.`,
      closing: 'Meilleures salutations',
    },
    es: {
      subject: (o) => `El reembolso del pedido ${o} no se ha completado`,
      greeting: (n) => `Hola ${n}`,
      body: (a, o, to) => `El reembolso de ${a} de su pedido ${o} a ${to} ha sido rechazado posteriormente. Volveremos a reembolsarle y le avisaremos cuando el importe esté disponible.`,
      closing: 'Saludos cordiales',
    },
    en: {
      subject: (o) => `Refund for order ${o} did not go through`,
      greeting: (n) => `Hello ${n}`,
      body: (a, o, to) => `The refund of ${a} for your order ${o} to ${to} was declined after all. We will refund you again and let you know as soon as the amount is available.`,
      closing: 'Kind regards',
    },
  },
};

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function emailLanguage(language: string): EmailLanguage {
  const base = language.toLowerCase().slice(0, 2);
  return (EMAIL_LANGUAGES as readonly string[]).includes(base) ? (base as EmailLanguage) : 'en';
}

/** Sums per currency, formatted for the locale and joined ("CHF 103.00 + EUR 5.00"). */
export function formatAmounts(amounts: readonly Money[], locale: string): string {
  const totals = new Map<string, number>();
  for (const m of amounts) totals.set(m.currency, (totals.get(m.currency) ?? 0) + m.amount);
  return [...totals.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, amount]) => formatMoney({ amount, currency }, locale))
    .join(' + ');
}

/** One email for one order and kind, in the recipient's language, text and HTML. Pure. */
export function renderRefundEmail(input: RefundEmailInput): RenderedEmail {
  const lang = emailLanguage(input.language);
  const locale = LOCALES[lang];
  const w = TEMPLATES[input.kind][lang];
  const amount = formatAmounts(input.refunds.map((r) => r.amount), locale);
  const methods = [...new Set(input.refunds.map((r) => r.method))];
  const to = methods.map((m) => METHOD_NAMES[lang][m] ?? METHOD_NAMES[lang].card).join(' / ');
  const lines = [w.greeting(input.recipientName) + ',', '', w.body(amount, input.orderId, to), '', w.closing];
  const text = lines.join('\n');
  const html = `<!doctype html><html lang="${lang}"><body>${lines
    .filter((l) => l !== '')
    .map((l) => `<p>${escapeHtml(l)}</p>`)
    .join('')}</body></html>`;
  return { subject: w.subject(input.orderId), text, html };
}
