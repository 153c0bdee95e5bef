import type { Answer } from './answers.ts';
import type { MerchantSettings, SandboxClock } from './state.ts';

export interface KeyEntry {
  fingerprint: string;
  state: 'in_flight' | 'done';
  answer?: Answer;
  storedAt: number;
}

/** Idempotency-Keys as Datatrans documents them: one request per key, its answer kept for the key's time to live. */
export class IdempotencyKeys {
  readonly #keys = new Map<string, KeyEntry>();

  constructor(
    private readonly clock: SandboxClock,
    private readonly settings: MerchantSettings,
  ) {}

  /** The key's entry while it is kept, else undefined (a new request). */
  live(key: string): KeyEntry | undefined {
    const existing = this.#keys.get(key);
    return existing && this.clock.now() - existing.storedAt < this.settings.keyTtlMs ? existing : undefined;
  }

  /** A request with this key is being processed. */
  begin(key: string, fingerprint: string): KeyEntry {
    const entry: KeyEntry = { fingerprint, state: 'in_flight', storedAt: this.clock.now() };
    this.#keys.set(key, entry);
    return entry;
  }

  /** The request's answer is kept for the key; none is kept for a request it did not process. */
  settle(key: string, entry: KeyEntry, answer: Answer | null): void {
    // Datatrans keeps no result for a request it did not process (5xx, 429, 401).
    if (answer && answer.status < 500 && answer.status !== 429 && answer.status !== 401) {
      entry.state = 'done';
      entry.answer = answer;
      entry.storedAt = this.clock.now();
    } else if (this.#keys.get(key) === entry) this.#keys.delete(key);
  }

  clear(): void {
    this.#keys.clear();
  }
}
