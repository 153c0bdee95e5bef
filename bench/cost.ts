/**
 * The AWS cost of a run, from what it did (state transitions, Lambda calls and durations,
 * DynamoDB request units, emails). USD for a report, not customer money; still computed
 * exactly: every price is an integer number of pico-dollars (1 USD = 10^12 pUSD) and every
 * sum is a BigInt, rounded once when formatted.
 *
 * List prices, us-east-1 (eu-central-1 is higher for Lambda/DynamoDB), checked 2026-11-25 on
 * aws.amazon.com/{step-functions,lambda,dynamodb,ses}/pricing and AWS' price-cut notices:
 * - Step Functions Standard: USD 0.025 per 1,000 state transitions.
 * - Lambda: USD 0.20 per 1M requests; arm64 duration USD 0.0000133334 per GB-second (first tier).
 * - DynamoDB on-demand (after the November 2024 50 % cut): USD 0.625 per million write request
 *   units, USD 0.125 per million read request units.
 * - SES outbound: USD 0.10 per 1,000 emails.
 * Free tiers are ignored: the figure is what a run adds to a bill that is already past them.
 */

/** Pico-dollars per unit. */
export const PRICE_PUSD = {
  stepFunctionsTransition: 25_000_000n,
  lambdaRequest: 200_000n,
  lambdaArmGbSecond: 13_333_400n,
  dynamoWriteRequestUnit: 625_000n,
  dynamoReadRequestUnit: 125_000n,
  sesEmail: 100_000_000n,
} as const;

export const PICO_PER_USD = 1_000_000_000_000n;
/** Lambda bills GB-seconds with 1 GB = 1,024 MB, and each call's duration rounded up to 1 ms. */
const MB_MS_PER_GB_SECOND = 1024n * 1000n;

/** What a run used. Request units may be halves (eventually consistent reads). */
export interface Usage {
  stateTransitions: number;
  lambdaInvocations: number;
  /** Σ over calls of memory (MB) × billed duration (ms, rounded up per call). */
  lambdaMbMs: number;
  writeRequestUnits: number;
  readRequestUnits: number;
  emails: number;
}

export const NO_USAGE: Usage = { stateTransitions: 0, lambdaInvocations: 0, lambdaMbMs: 0, writeRequestUnits: 0, readRequestUnits: 0, emails: 0 };

/** Each component in pico-dollars. */
export interface Cost {
  stepFunctions: bigint;
  lambdaRequests: bigint;
  lambdaDuration: bigint;
  dynamodb: bigint;
  ses: bigint;
}

export class CostInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CostInputError';
  }
}

function whole(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new CostInputError(`${what} must be a non-negative integer, got ${value}`);
  return BigInt(value);
}

/** Request units in halves: DynamoDB never reports finer than 0.5. */
function halves(value: number, what: string): bigint {
  const doubled = value * 2;
  if (!Number.isSafeInteger(doubled) || doubled < 0) throw new CostInputError(`${what} must be a non-negative multiple of 0.5, got ${value}`);
  return BigInt(doubled);
}

/** Integer division rounding half up (non-negative operands). */
function divRound(numerator: bigint, denominator: bigint): bigint {
  return (numerator * 2n + denominator) / (2n * denominator);
}

/** Billed MB-ms of one function's calls: each duration rounded up to the next millisecond. */
export function lambdaMbMs(memoryMb: number, durationsMs: Iterable<number>): number {
  whole(memoryMb, 'memoryMb');
  let billedMs = 0;
  for (const d of durationsMs) {
    if (!(d >= 0)) throw new CostInputError(`a Lambda duration must be >= 0 ms, got ${d}`);
    billedMs += Math.max(1, Math.ceil(d));
  }
  return memoryMb * billedMs;
}

export function addUsage(...usages: Usage[]): Usage {
  const sum = { ...NO_USAGE };
  for (const u of usages) {
    for (const key of Object.keys(sum) as (keyof Usage)[]) sum[key] += u[key];
  }
  return sum;
}

export function costOf(usage: Usage): Cost {
  return {
    stepFunctions: whole(usage.stateTransitions, 'stateTransitions') * PRICE_PUSD.stepFunctionsTransition,
    lambdaRequests: whole(usage.lambdaInvocations, 'lambdaInvocations') * PRICE_PUSD.lambdaRequest,
    lambdaDuration: divRound(whole(usage.lambdaMbMs, 'lambdaMbMs') * PRICE_PUSD.lambdaArmGbSecond, MB_MS_PER_GB_SECOND),
    dynamodb:
      (halves(usage.writeRequestUnits, 'writeRequestUnits') * PRICE_PUSD.dynamoWriteRequestUnit +
        halves(usage.readRequestUnits, 'readRequestUnits') * PRICE_PUSD.dynamoReadRequestUnit) /
      2n,
    ses: whole(usage.emails, 'emails') * PRICE_PUSD.sesEmail,
  };
}

/** Step Functions + Lambda: what the issue's USD 0.50 per 100,000 tickets target is about. */
export function orchestration(cost: Cost): bigint {
  return cost.stepFunctions + cost.lambdaRequests + cost.lambdaDuration;
}

export function total(cost: Cost): bigint {
  return cost.stepFunctions + cost.lambdaRequests + cost.lambdaDuration + cost.dynamodb + cost.ses;
}

/** The cost scaled to `per` tickets (default 100,000), from a run over `tickets`. */
export function perTickets(cost: Cost, tickets: number, per = 100_000): Cost {
  const t = whole(tickets, 'tickets');
  if (t === 0n) throw new CostInputError('tickets must be > 0 to scale a cost');
  const p = whole(per, 'per');
  const scale = (v: bigint) => divRound(v * p, t);
  return {
    stepFunctions: scale(cost.stepFunctions),
    lambdaRequests: scale(cost.lambdaRequests),
    lambdaDuration: scale(cost.lambdaDuration),
    dynamodb: scale(cost.dynamodb),
    ses: scale(cost.ses),
  };
}

/** "0.0123" (USD, rounded half up to `decimals`). */
export function formatUsd(pico: bigint, decimals = 4): string {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 12) throw new CostInputError(`decimals must be 0..12, got ${decimals}`);
  const negative = pico < 0n;
  const abs = negative ? -pico : pico;
  const unit = 10n ** BigInt(12 - decimals);
  const rounded = divRound(abs, unit);
  const scale = 10n ** BigInt(decimals);
  const int = rounded / scale;
  const frac = (rounded % scale).toString().padStart(decimals, '0');
  return `${negative ? '-' : ''}${int}${decimals > 0 ? `.${frac}` : ''}`;
}
