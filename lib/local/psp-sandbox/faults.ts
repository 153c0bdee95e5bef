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

  /** The fault for one request, or null. Every candidate rule draws once, so the sequence replays. */
  pick(endpoint: 'credit' | 'status', transactionIds: readonly string[]): Fault | null {
    for (const rule of this.rules) {
      const ruleEndpoint = rule.endpoint ?? 'credit';
      if (ruleEndpoint !== 'any' && ruleEndpoint !== endpoint) continue;
      if (rule.transactionId !== undefined && !transactionIds.includes(rule.transactionId)) continue;
      if (rule.times !== undefined && rule.fired >= rule.times) continue;
      const draw = this.random();
      if (draw >= (rule.probability ?? 1)) continue;
      rule.fired += 1;
      return rule.fault;
    }
    return null;
  }
}
