/**
 * The rules of sending the outbox, without I/O: how marks group into emails, and the pace that
 * keeps a sender under the account's SES sending rate.
 */

/** What grouping needs of an outbox mark. */
export interface Groupable {
  orderId: string;
  ownerId: string;
  ownerKind: 'customer' | 'agency';
  kind: string;
}

/** The email a mark belongs to: one per order and kind; an agency's returns share one per agency. */
export function emailKeyOf(m: Groupable): string {
  return m.kind === 'returned_to_account' && m.ownerKind === 'agency' ? `agency|${m.ownerId}` : `order|${m.orderId}|${m.kind}`;
}

/**
 * Splits one outbox page (in key order, so the marks of one email are contiguous) into emails.
 * When more marks follow the page, the marks of its last order and kind may continue on the next
 * page: they are left for it (`kept` says how many marks this page uses), so no order ever gets two
 * emails of one kind. A page holding nothing but one order and kind keeps it whole.
 */
export function groupPage<T extends Groupable>(marks: readonly T[], more: boolean): { emails: T[][]; kept: number } {
  let kept = marks.length;
  if (more && marks.length > 0) {
    const last = marks[marks.length - 1] as T;
    const sameOrderKind = (m: T) => m.orderId === last.orderId && m.kind === last.kind;
    let first = marks.length - 1;
    while (first > 0 && sameOrderKind(marks[first - 1] as T)) first--;
    if (first > 0) kept = first;
  }
  const emails: T[][] = [];
  let key: string | null = null;
  for (const m of marks.slice(0, kept)) {
    const k = emailKeyOf(m);
    if (k === key) (emails[emails.length - 1] as T[]).push(m);
    else emails.push([m]);
    key = k;
  }
  return { emails, kept };
}

/**
 * Hands out send slots at most `ratePerSecond` a second, evenly spaced (no burst), to any number
 * of concurrent senders. `slowDown` lowers the rate after SES throttled us (never below `floor`).
 * The clock and sleep are injected so the rule is tested without waiting.
 */
export class Pacer {
  private nextSlot: number;
  private rate: number;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly floor = 0.5,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`a sending rate must be positive, got ${ratePerSecond}`);
    this.rate = ratePerSecond;
    this.nextSlot = now();
  }

  get ratePerSecond(): number {
    return this.rate;
  }

  /** Resolves at the caller's slot; slots are 1000 / rate ms apart. */
  async slot(): Promise<number> {
    const at = Math.max(this.now(), this.nextSlot);
    // The gap rounded up to the microsecond: sums of 1000 / rate in floating point could otherwise
    // fit one slot too many into a second (3 a second: 1000 + 3 × 333.33… < 2000).
    this.nextSlot = at + Math.ceil(1_000_000 / this.rate) / 1000;
    const wait = at - this.now();
    if (wait > 0) await this.sleep(wait);
    return at;
  }

  slowDown(factor = 0.7): void {
    this.rate = Math.max(this.floor, this.rate * factor);
  }
}
