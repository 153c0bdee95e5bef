import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { canonical, errorAnswer, type Answer } from './answers.ts';
import type { SandboxCore } from './core.ts';
import type { FaultKind } from './faults.ts';
import type { KeyEntry } from './idempotency.ts';

const CREDIT_PATH = /^\/v1\/transactions\/([^/]+)\/credit$/;
const STATUS_PATH = /^\/v1\/transactions\/([^/]+)$/;

/** Datatrans' JSON API v1 for credits and status: rate limit, Basic auth, Idempotency-Key, faults. */
export class DatatransApi {
  constructor(
    private readonly core: SandboxCore,
    private readonly expectedAuth: Buffer,
  ) {}

  async handle(req: http.IncomingMessage, res: http.ServerResponse, path: string, body: string, ctx: { fault?: FaultKind }): Promise<Answer | null> {
    const { core } = this;
    const creditMatch = req.method === 'POST' ? CREDIT_PATH.exec(path) : null;
    const statusMatch = req.method === 'GET' ? STATUS_PATH.exec(path) : null;
    const endpointLabel = creditMatch ? 'POST /v1/transactions/{id}/credit' : statusMatch ? 'GET /v1/transactions/{id}' : `${req.method} other`;
    const answer = (a: Answer | null): Answer | null => {
      core.counters.request(`${endpointLabel} ${a ? a.status : 'no-answer'}`);
      return a;
    };

    const wait = core.rateLimit.take();
    if (wait > 0) {
      core.counters.stats.rateLimited += 1;
      return answer(errorAnswer(429, 'CLIENT_ERROR', 'too many requests', { 'retry-after': String(wait) }));
    }
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== this.expectedAuth.length || !timingSafeEqual(auth, this.expectedAuth)) {
      return answer(errorAnswer(401, 'UNAUTHORIZED', 'missing or wrong Basic authentication'));
    }
    const id = (creditMatch ?? statusMatch)?.[1];
    if (id === undefined) return answer(errorAnswer(404, 'CLIENT_ERROR', 'no such endpoint'));
    if (!/^\d{18}$/.test(id)) return answer(errorAnswer(400, 'INVALID_PROPERTY', 'transactionId length must be 18 digits'));

    if (statusMatch) {
      const original = core.book.originalOf(id);
      const related = [id, ...(original !== undefined ? [original] : [])];
      const fault = core.faults.pick('status', related, core.clock.now());
      if (fault) ctx.fault = fault.kind;
      return answer(await core.transport.apply(fault, res, false, () => core.book.status(id)));
    }
    return answer(await this.#credit(req, res, path, body, id, ctx));
  }

  /** A credit request: its body, its Idempotency-Key (a replay, a conflict or a new request), then the booking. */
  async #credit(req: http.IncomingMessage, res: http.ServerResponse, path: string, body: string, id: string, ctx: { fault?: FaultKind }): Promise<Answer | null> {
    const { core } = this;
    const { stats } = core.counters;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return errorAnswer(400, 'INVALID_JSON_PAYLOAD', 'the request body is not valid JSON');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return errorAnswer(400, 'INVALID_JSON_PAYLOAD', 'the request body must be a JSON object');

    const keyHeader = req.headers['idempotency-key'];
    const key = typeof keyHeader === 'string' && keyHeader.length > 0 ? keyHeader : null;
    let entry: KeyEntry | undefined;
    if (key) {
      const fingerprint = `POST ${path} ${canonical(parsed)}`;
      const existing = core.keys.live(key);
      if (existing) {
        stats.duplicateCreditsBlocked += 1;
        if (existing.fingerprint !== fingerprint) {
          stats.bodyMismatches += 1;
          return errorAnswer(422, 'CLIENT_ERROR', 'the idempotency key was used with a different request');
        }
        if (existing.state === 'in_flight') {
          stats.inFlightConflicts += 1;
          return errorAnswer(409, 'CLIENT_ERROR', 'a request with this idempotency key is in progress');
        }
        stats.idempotentReplays += 1;
        // The replay passes through the same load balancer: a rule for replayed keys can break it too.
        const replayFault = core.faults.pick('credit', [id], core.clock.now(), true);
        if (replayFault) ctx.fault = replayFault.kind;
        const stored = existing.answer;
        if (!stored) return null;
        const replayBusiness = replayFault?.kind === 'decline' || replayFault?.kind === 'late_failure' ? null : replayFault;
        return core.transport.apply(replayBusiness, res, true, () => stored);
      }
      entry = core.keys.begin(key, fingerprint);
    }
    const store = (a: Answer | null) => {
      if (key && entry) core.keys.settle(key, entry, a);
    };

    const fault = core.faults.pick('credit', [id], core.clock.now());
    if (fault) ctx.fault = fault.kind;
    const businessFault = fault?.kind === 'decline' || fault?.kind === 'late_failure' ? fault : null;
    let committed: Answer | null = null;
    const commit = () => {
      committed = core.book.credit(id, parsed as Record<string, unknown>, key, businessFault);
      store(committed);
      return committed;
    };
    const result = await core.transport.apply(businessFault ? null : fault, res, true, commit);
    if (committed === null) store(result && result.status >= 500 ? result : null);
    return result;
  }
}
