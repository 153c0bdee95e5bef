import type http from 'node:http';
import type { Socket } from 'node:net';
import { errorAnswer, htmlAnswer, type Answer } from './answers.ts';
import type { Fault } from './faults.ts';
import type { SandboxCounters } from './state.ts';

const DEFAULT_HOLD_MS = 30_000;

/**
 * What happens between the PSP and the client: held and delayed answers, time-outs, resets,
 * gateways answering for the PSP. Keeps its timers so that stop() ends them all at once.
 */
export class Transport {
  readonly #holds = new Set<NodeJS.Timeout>();
  readonly #delays = new Set<() => void>();

  constructor(private readonly counters: SandboxCounters) {}

  /**
   * Transport faults around `commit` (which books and returns the real answer). Returns what is
   * sent, or null when the socket is destroyed without an answer. A malformed answer is returned
   * as-is (the real one is already stored for the idempotency key).
   */
  async apply(fault: Fault | null, res: http.ServerResponse, isCredit: boolean, commit: () => Answer): Promise<Answer | null> {
    if (!fault || fault.kind === 'decline' || fault.kind === 'late_failure') return commit();
    this.counters.fault(fault.kind);
    switch (fault.kind) {
      case 'http_5xx':
        return errorAnswer(fault.status ?? 503, 'SERVER_ERROR', 'temporary server error');
      case 'rate_limited':
        this.counters.stats.rateLimited += 1;
        return errorAnswer(429, 'CLIENT_ERROR', 'too many requests', { 'retry-after': String(fault.retryAfterSeconds) });
      case 'unauthorized':
        return errorAnswer(401, 'UNAUTHORIZED', 'missing or wrong Basic authentication');
      case 'latency':
        await this.#hold(res, fault.ms);
        return commit();
      case 'timeout_before_commit':
        await this.#hold(res, fault.ms ?? DEFAULT_HOLD_MS);
        res.socket?.destroy();
        return null;
      case 'timeout_after_commit':
        commit();
        await this.#hold(res, fault.ms ?? DEFAULT_HOLD_MS);
        res.socket?.destroy();
        return null;
      case 'connection_reset': {
        if (fault.afterCommit || !isCredit) commit();
        const socket = res.socket as (Socket & { resetAndDestroy?: () => void }) | null;
        if (socket?.resetAndDestroy) socket.resetAndDestroy();
        else socket?.destroy();
        return null;
      }
      case 'malformed_json': {
        const real = commit();
        return { status: real.status, headers: real.headers, body: real.body.slice(0, Math.max(1, Math.floor(real.body.length / 2))) };
      }
      case 'booked_then_5xx': {
        commit();
        const status = fault.status ?? 502;
        return fault.html ? htmlAnswer(status) : errorAnswer(status, 'SERVER_ERROR', 'temporary server error');
      }
      case 'slow_commit':
        await this.#delay(fault.ms);
        return commit();
      case 'key_in_flight':
        this.counters.stats.inFlightConflicts += 1;
        return errorAnswer(409, 'CLIENT_ERROR', 'a request with this idempotency key is in progress');
    }
  }

  /** Ends every held answer and delay now. */
  stop(): void {
    for (const t of this.#holds) clearTimeout(t);
    this.#holds.clear();
    for (const done of [...this.#delays]) done();
  }

  /** Holds the answer ms, or until the client closes the socket. */
  #hold(res: http.ServerResponse, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const holds = this.#holds;
      const timer = setTimeout(done, ms);
      holds.add(timer);
      function done() {
        clearTimeout(timer);
        holds.delete(timer);
        res.off('close', done);
        resolve();
      }
      res.on('close', done);
    });
  }

  /** Waits ms whatever the client does (a closed socket does not cut it short); stop() ends it. */
  #delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#delays.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#delays.add(done);
    });
  }
}
