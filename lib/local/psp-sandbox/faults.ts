import * as z from 'zod';
import { mulberry32 } from '../../core/prng.ts';

export { mulberry32 };

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('decline'), code: z.string().min(1), message: z.string().optional() }),
  z.object({ kind: z.literal('http_5xx'), status: z.number().int().min(500).max(599).optional() }),
  z.object({ kind: z.literal('rate_limited'), retryAfterSeconds: z.number().int().min(0) }),
  z.object({ kind: z.literal('latency'), ms: z.number().int().min(0) }),
  z.object({ kind: z.literal('timeout_before_commit'), ms: z.number().int().min(0).optional() }),
  z.object({ kind: z.literal('timeout_after_commit'), ms: z.number().int().min(0).optional() }),
  z.object({ kind: z.literal('connection_reset'), afterCommit: z.boolean().optional() }),
  z.object({ kind: z.literal('malformed_json') }),
  z.object({ kind: z.literal('unauthorized') }),
  z.object({ kind: z.literal('late_failure') }),
  /** The PSP books (and stores the answer under the key), then the load balancer in front answers 5xx, as JSON or as an HTML page. */
  z.object({ kind: z.literal('booked_then_5xx'), status: z.number().int().min(500).max(599).optional(), html: z.boolean().optional() }),
  /** 409 as for a request whose Idempotency-Key is still in flight (e.g. an earlier request still processing); books nothing itself. */
  z.object({ kind: z.literal('key_in_flight') }),
  /** The booking lands `ms` after the request arrived, whatever the client does meanwhile (a slow PSP). */
  z.object({ kind: z.literal('slow_commit'), ms: z.number().int().min(0) }),
]);
export type Fault = z.infer<typeof faultSchema>;
export type FaultKind = Fault['kind'];

export const faultRuleSchema = z.object({
  /** The original transaction the rule applies to (a credit's status matches its original too); absent = every transaction. */
  transactionId: z.string().regex(/^\d{18}$/).optional(),
  /** Which API the rule applies to; credit by default. */
  endpoint: z.enum(['credit', 'status', 'any']).optional(),
  probability: z.number().min(0).max(1).optional(),
  /** How many times the rule fires at most; absent = unlimited. */
  times: z.number().int().min(0).optional(),
  /** Credits whose Idempotency-Key the PSP processes anew (default), replays a stored answer for, or both. */
  keys: z.enum(['new', 'replayed', 'any']).optional(),
  /** Active only from / until these instants of the sandbox's clock (ISO date-times). */
  from: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  fault: faultSchema,
});
export type FaultRule = z.infer<typeof faultRuleSchema>;

export const faultConfigSchema = z.object({ seed: z.number().int().optional(), rules: z.array(faultRuleSchema) });
export type FaultConfig = z.infer<typeof faultConfigSchema>;

/** Holds the rules and the PRNG; first matching rule that fires wins. */
export class FaultPlan {
  private rules: Array<FaultRule & { fired: number }> = [];
  private random: () => number;

  constructor(private readonly defaultSeed: number) {
    this.random = mulberry32(defaultSeed);
  }

  configure(config: FaultConfig): void {
    this.rules = config.rules.map((r) => ({ ...r, fired: 0 }));
    this.random = mulberry32(config.seed ?? this.defaultSeed);
  }

  clear(): void {
    this.configure({ rules: [] });
  }

  get size(): number {
    return this.rules.length;
  }

  /**
   * The fault for one request, or null. Every candidate rule draws once, so the sequence replays.
   * `at`: the sandbox clock; `replayed`: a credit answered from a stored Idempotency-Key.
   */
  pick(endpoint: 'credit' | 'status', transactionIds: readonly string[], at: number, replayed = false): Fault | null {
    for (const rule of this.rules) {
      const ruleEndpoint = rule.endpoint ?? 'credit';
      if (ruleEndpoint !== 'any' && ruleEndpoint !== endpoint) continue;
      if (rule.transactionId !== undefined && !transactionIds.includes(rule.transactionId)) continue;
      const keys = rule.keys ?? 'new';
      if (endpoint === 'credit' && keys !== 'any' && (keys === 'replayed') !== replayed) continue;
      if (rule.from !== undefined && at < Date.parse(rule.from)) continue;
      if (rule.until !== undefined && at >= Date.parse(rule.until)) continue;
      if (rule.times !== undefined && rule.fired >= rule.times) continue;
      const draw = this.random();
      if (draw >= (rule.probability ?? 1)) continue;
      rule.fired += 1;
      return rule.fault;
    }
    return null;
  }
}
