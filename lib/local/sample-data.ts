import { percentOf } from '../core/money.ts';
import { VOUCHER_KINDS, type VoucherKind } from '../core/model.ts';
import { mulberry32 } from '../core/prng.ts';

/**
 * Deterministic sample data in the import format (../shared/CONTRACT.md), streamed line by line:
 * only counters are kept, so 100,000 tickets take no more memory than 100.
 * The bundled data/sample.jsonl is `generateSampleLines(SAMPLE_OPTIONS)`; regenerate it with
 *   npx tsx -e "import {writeFileSync} from 'node:fs'; import {sampleText,SAMPLE_OPTIONS} from './lib/local/sample-data.ts'; writeFileSync('data/sample.jsonl', sampleText(SAMPLE_OPTIONS))"
 * All names and emails are invented (example.org / example.com).
 */

export interface SampleOptions {
  seed?: number;
  performances?: number;
  ticketsPerPerformance?: number;
  agencies?: number;
  vouchers?: number;
  resales?: number;
  /** One currency for everything; by default CHF and EUR performances alternate as in the templates. */
  currency?: string;
  /** Date (YYYY-MM-DD) of the first performance; the next ones follow weekly. */
  startDate?: string;
  exclusions?: number;
}

/** What data/sample.jsonl was generated with. */
export const SAMPLE_OPTIONS = {
  seed: 20260712,
  performances: 3,
  ticketsPerPerformance: 160,
  agencies: 3,
  vouchers: 200,
  resales: 10,
  exclusions: 5,
  startDate: '2026-07-12',
} as const satisfies SampleOptions;

/** Repository-relative path of the bundled sample. */
export const SAMPLE_FILE = 'data/sample.jsonl';

const DEFAULTS = { seed: 1, performances: 3, ticketsPerPerformance: 100, agencies: 3, vouchers: 200, resales: 10, exclusions: 5, startDate: '2026-07-12' };

interface Template {
  name: string;
  time: string;
  currency: string;
  /** Prices per seat category, minor units. */
  prices: Record<'A' | 'B' | 'C' | 'D', number>;
  pointOfSale: string;
}

const TEMPLATES: readonly Template[] = [
  { name: 'FC Example - FC Sample', time: '18:00', currency: 'CHF', prices: { A: 12000, B: 8500, C: 6000, D: 3500 }, pointOfSale: 'Kasse Stadion' },
  { name: 'The Sample Orchestra - Summer Night', time: '20:00', currency: 'EUR', prices: { A: 14900, B: 9900, C: 7900, D: 4900 }, pointOfSale: 'Abendkasse Halle' },
  { name: 'Theater am Beispielplatz - Der Besuch', time: '19:30', currency: 'CHF', prices: { A: 9000, B: 7000, C: 5000, D: 3000 }, pointOfSale: 'Theaterkasse' },
];

/** Ids of the performances `generateSampleLines(opts)` emits, in order. */
export function samplePerformanceIds(opts: SampleOptions = {}): string[] {
  const count = opts.performances ?? DEFAULTS.performances;
  return Array.from({ length: count }, (_, i) => `P-${addDays(opts.startDate ?? DEFAULTS.startDate, 7 * i)}`);
}

/** The bundled sample's performances: [0] is the CHF football match the demo cancels, [1] the EUR concert, [2] the theatre night. */
export const SAMPLE_PERFORMANCE_IDS: readonly string[] = samplePerformanceIds(SAMPLE_OPTIONS);

export { mulberry32 };

type Scenario =
  | 'card'
  | 'amazon_pay'
  | 'klarna'
  | 'sofort'
  | 'bank_transfer'
  | 'cash'
  | 'voucher'
  | 'credit_account'
  | 'card+voucher'
  | 'agency_unsettled'
  | 'agency_settled'
  | 'agency_card';

/** Per mille. The first orders run through every scenario once so small samples cover them all. */
const SCENARIO_WEIGHTS: readonly [Scenario, number][] = [
  ['card', 420],
  ['amazon_pay', 80],
  ['klarna', 80],
  ['sofort', 50],
  ['bank_transfer', 50],
  ['cash', 60],
  ['voucher', 40],
  ['credit_account', 30],
  ['card+voucher', 90],
  ['agency_unsettled', 45],
  ['agency_settled', 30],
  ['agency_card', 25],
];

const FIRST_NAMES = ['Anna', 'Luca', 'Zoë', 'François', 'Léa', 'José', 'Lucía', 'Jürg', 'Sophie', 'Noah', 'Chloé', 'Mateo', 'Emma', 'Jonas', 'Inès', 'Oliver'];
const LAST_NAMES = ['Muster', 'Beispiel', 'Exemple', 'Müller', 'Dupont', 'García', 'Rossi', 'Schneider', 'Martin', 'Fernández', 'Smith', 'Keller', 'Lefèvre', 'Näf'];
const LANGUAGES: readonly [string, number][] = [['de', 40], ['fr', 22], ['it', 10], ['en', 14], ['es', 14]];
const AGENCY_NAMES = ['Tickets Ltd', 'Billetterie Romande SA', 'Entradas Ibérica SL', 'Kartenhaus GmbH', 'Events & More AG'];
const VOUCHER_WEIGHTS: readonly [VoucherKind, number][] = [['value', 40], ['gift_card', 20], ['package', 10], ['service', 10], ['imported', 10], ['ticket', 10]];
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford: no I, L, O, U

export function* generateSampleLines(opts: SampleOptions = {}): Generator<string> {
  const o = { ...DEFAULTS, ...definedOnly(opts) };
  const rng = mulberry32(o.seed);
  const int = (n: number): number => Math.floor(rng() * n);
  const chance = (p: number): boolean => rng() < p;
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const weighted = <T>(items: readonly [T, number][]): T => {
    let r = int(items.reduce((s, [, w]) => s + w, 0));
    for (const [item, w] of items) {
      if (r < w) return item;
      r -= w;
    }
    return (items[0] as [T, number])[0];
  };

  // 1. Performances and agencies.
  const ids = samplePerformanceIds(o);
  const performances = ids.map((id, i) => {
    const template = TEMPLATES[i % TEMPLATES.length] as Template;
    const date = id.slice(2);
    const month = Number(date.slice(5, 7));
    const offset = month >= 4 && month <= 10 ? '+02:00' : '+01:00'; // Central European (summer) time
    return {
      id,
      name: i < TEMPLATES.length ? template.name : `${template.name} (${i + 1})`,
      startsAt: `${date}T${template.time}:00${offset}`,
      currency: opts.currency ?? template.currency,
      template,
    };
  });
  for (const p of performances) yield line({ type: 'performance', id: p.id, name: p.name, startsAt: p.startsAt, currency: p.currency });
  for (let a = 1; a <= o.agencies; a++) {
    yield line({
      type: 'agency',
      id: `AG${a}`,
      name: AGENCY_NAMES[(a - 1) % AGENCY_NAMES.length] + (a > AGENCY_NAMES.length ? ` ${a}` : ''),
      email: `office@agency${a}.example.com`,
      language: ['fr', 'de', 'it', 'es', 'en'][(a - 1) % 5] as string,
    });
  }

  // 2. Orders, each preceded by its customer when new; a resale follows some card orders.
  const budgets = performances.map(() => o.ticketsPerPerformance);
  const partnerOf = performances.map((p, i) => performances.findIndex((q, j) => j > i && q.currency === p.currency));
  const scenarios = SCENARIO_WEIGHTS.filter(([s]) => o.agencies > 0 || !s.startsWith('agency'));
  const estimatedCardOrders = Math.floor((o.performances * o.ticketsPerPerformance * 3) / 10);
  const resaleStride = o.resales > 0 ? Math.max(1, Math.floor(estimatedCardOrders / (o.resales * 3 / 2))) : 0;
  let orderCount = 0;
  let ticketCount = 0;
  let customerCount = 0;
  let pspCount = 0;
  let cardOrderCount = 0;
  let resaleCount = 0;

  for (let i = 0; i < performances.length; i++) {
    const performance = performances[i] as (typeof performances)[number];
    while ((budgets[i] as number) > 0) {
      orderCount++;
      const scenario = orderCount <= scenarios.length ? (scenarios[orderCount - 1] as [Scenario, number])[0] : weighted(scenarios);
      const isAgency = scenario.startsWith('agency');

      // Sizes: 60 % one ticket, then 20 / 13 / 7 % two to four (about 1.67 tickets an order).
      const r = int(100);
      const size = r < 60 ? 1 : r < 80 ? 2 : r < 93 ? 3 : 4;
      const partner = partnerOf[i] as number;
      const fromPartner = size > 1 && partner >= 0 && (budgets[partner] as number) > 0 && chance(0.08) ? 1 : 0;
      const fromHere = Math.min(size - fromPartner, budgets[i] as number);
      budgets[i] = (budgets[i] as number) - fromHere;
      if (fromPartner > 0) budgets[partner] = (budgets[partner] as number) - fromPartner;

      const orderId = `O${orderCount}`;
      const startsAtMs = Date.parse(performance.startsAt);
      const createdAtMs = startsAtMs - (1 + int(150)) * 86_400_000 - int(86_400) * 1000;
      const createdAt = isoSeconds(createdAtMs);

      const tickets = [];
      for (let t = 0; t < fromHere + fromPartner; t++) {
        const p = t < fromHere ? performance : (performances[partner] as (typeof performances)[number]);
        ticketCount++;
        const quota = weighted([['public', 80], ['season', 12], ['sponsor', 8]] as [string, number][]);
        const seatCategory = weighted([['A', 15], ['B', 30], ['C', 35], ['D', 20]] as ['A' | 'B' | 'C' | 'D', number][]);
        const productFamily = quota === 'season' ? 'season_ticket' : weighted([['single_entry', 92], ['hospitality', 4], ['combi', 4]] as [string, number][]);
        const listPrice = p.template.prices[seatCategory];
        const amount = quota === 'season' ? listPrice - percentOf(listPrice, 3000) : productFamily === 'hospitality' ? listPrice * 3 : listPrice;
        const state = weighted([['valid', 88], ['controlled', 10], ['cancelled', 2]] as [string, number][]);
        // Tariffs without drawing from the generator (the rest of the sample stays as it was): 1 in 8 a child's, 1 in 8 none.
        const tariff = ticketCount % 8 === 3 ? 'child' : ticketCount % 8 === 6 ? undefined : 'adult';
        tickets.push({ id: `T${ticketCount}`, performanceId: p.id, quota, seatCategory, productFamily, ...(tariff ? { tariff } : {}), price: { amount, currency: p.currency }, state });
      }
      const currency = performance.currency;
      const fees = [];
      if (chance(0.5)) fees.push({ id: 'F1', kind: 'service_fee', amount: { amount: 250 * tickets.length, currency } });
      if (chance(0.05)) fees.push({ id: `F${fees.length + 1}`, kind: 'delivery_fee', amount: { amount: 500, currency } });
      const total = tickets.reduce((s, t) => s + t.price.amount, 0) + fees.reduce((s, f) => s + f.amount.amount, 0);

      const psp = (): string => {
        pspCount++;
        // 18 digits, as Datatrans ids: yyMMddHHmm of the purchase + an 8-digit counter (unique per payment).
        const stamp = createdAt.slice(2, 16).replace(/[-T:]/g, '');
        return stamp + String(pspCount).padStart(8, '0');
      };
      const payment = (id: number, method: string, amount: number, extra: object = {}) => ({ id: `PAY${id}`, method, amount: { amount, currency }, ...extra });
      let payments: ReturnType<typeof payment>[];
      switch (scenario) {
        case 'card':
        case 'agency_card':
        case 'amazon_pay':
          payments = [payment(1, scenario === 'amazon_pay' ? 'amazon_pay' : 'card', total, { pspTransactionId: psp() })];
          break;
        case 'card+voucher': {
          const voucherPart = Math.min(pick([2000, 5000, 10000]), total - 100);
          payments = [payment(1, 'card', total - voucherPart, { pspTransactionId: psp() }), payment(2, 'voucher', voucherPart)];
          break;
        }
        case 'agency_unsettled':
          // Half say it, half rely on the import's default (unsettled).
          payments = [payment(1, 'intermediate_account', total, chance(0.5) ? { settled: false } : {})];
          break;
        case 'agency_settled':
          payments = [payment(1, 'intermediate_account', total, { settled: true })];
          break;
        default:
          payments = [payment(1, scenario, total)];
      }

      let ownerField: { customerId: string } | { agencyId: string };
      let salesChannel = 'web';
      let pointOfSale = 'webshop';
      if (isAgency) {
        const agencyId = `AG${1 + int(o.agencies)}`;
        ownerField = { agencyId };
        salesChannel = 'agency';
        pointOfSale = agencyId;
      } else {
        if (customerCount === 0 || chance(0.85)) {
          customerCount++;
          yield line(customer(customerCount, pick, weighted));
          ownerField = { customerId: `C${customerCount}` };
        } else {
          ownerField = { customerId: `C${1 + int(customerCount)}` };
        }
        if (scenario === 'cash' || (scenario === 'voucher' && chance(0.5))) {
          salesChannel = 'box_office';
          pointOfSale = performance.template.pointOfSale;
        } else if (scenario === 'bank_transfer') {
          salesChannel = 'phone';
          pointOfSale = 'call_center';
        }
      }
      yield line({ type: 'order', id: orderId, ...ownerField, salesChannel, pointOfSale, createdAt, tickets, fees, payments });

      if (scenario === 'card' || scenario === 'card+voucher') {
        cardOrderCount++;
        const resold = tickets.find((t) => t.state !== 'cancelled');
        if (resold !== undefined && resaleCount < o.resales && cardOrderCount % resaleStride === 0) {
          resaleCount++;
          const resoldAtMs = createdAtMs + Math.floor(rng() * (startsAtMs - createdAtMs));
          yield line({
            type: 'resale',
            id: `RS${resaleCount}`,
            ticketId: resold.id,
            sellerOrderId: orderId,
            payout: { amount: resold.price.amount - percentOf(resold.price.amount, 1000), currency: resold.price.currency }, // 10 % resale fee
            resoldAt: isoSeconds(resoldAtMs),
          });
        }
      }
    }
  }

  // 3. Vouchers (every kind among the first six), then write-off exclusions of some of them.
  const voucherCurrency = opts.currency ?? 'CHF';
  for (let v = 0; v < o.vouchers; v++) {
    const kind = v < VOUCHER_KINDS.length ? (VOUCHER_KINDS[v] as VoucherKind) : weighted(VOUCHER_WEIGHTS);
    const issuedDay = addDays('2022-01-01', int(1461)); // 2022-01-01 .. 2025-12-31
    const issuedAt = chance(0.1) ? `${issuedDay}T${String(8 + int(10)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}:00+01:00` : issuedDay;
    const months = pick([6, 12, 24, 36]);
    const until = addMonths(issuedDay, months);
    const validUntil = kind === 'imported' && chance(0.3) ? null : until > '2026-12-31' ? '2026-12-31' : until;
    const currency = opts.currency === undefined && chance(0.2) ? 'EUR' : voucherCurrency;
    const remaining = chance(0.15) ? 0 : 1000 + 500 * int(39);
    yield line({ type: 'voucher', code: voucherCode(o.seed, v), kind, issuedAt, validUntil, remaining: { amount: remaining, currency } });
  }
  const exclusions = Math.min(o.exclusions, o.vouchers);
  for (let x = 0; x < exclusions; x++) {
    yield line({ type: 'write_off_exclusion', id: voucherCode(o.seed, Math.floor((x * o.vouchers) / exclusions)) });
  }
}

/** The whole sample as one text (small samples only: it is not streamed). */
export function sampleText(opts: SampleOptions = {}): string {
  let text = '';
  for (const l of generateSampleLines(opts)) text += `${l}\n`;
  return text;
}

function customer(n: number, pick: <T>(items: readonly T[]) => T, weighted: <T>(items: readonly [T, number][]) => T): object {
  const first = pick(FIRST_NAMES);
  const last = pick(LAST_NAMES);
  const ascii = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  return {
    type: 'customer',
    id: `C${n}`,
    email: `${ascii(first)}.${ascii(last)}${n}@${n % 2 === 0 ? 'example.com' : 'example.org'}`,
    language: weighted(LANGUAGES),
    name: `${first} ${last}`,
  };
}

/** V-XXXX-XXXX, distinct for distinct indexes: an odd multiplier mod 2^32 is a bijection. */
export function voucherCode(seed: number, index: number): string {
  let x = (Math.imul(index + 1, 0x9e3779b1) + Math.imul(seed, 0x85ebca6b)) >>> 0;
  let digits = '';
  for (let k = 0; k < 7; k++) {
    digits = (CODE_ALPHABET[x % 32] as string) + digits;
    x = Math.floor(x / 32);
  }
  const check = CODE_ALPHABET[[...digits].reduce((s, c) => s + CODE_ALPHABET.indexOf(c), 0) % 32] as string;
  const code = digits + check;
  return `V-${code.slice(0, 4)}-${code.slice(4)}`;
}

function line(record: object): string {
  return JSON.stringify(record);
}

function definedOnly(opts: SampleOptions): Partial<typeof DEFAULTS> {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<typeof DEFAULTS>;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

function addMonths(date: string, months: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target.toISOString().slice(0, 10);
}
