import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addUsage, costOf, CostInputError, formatUsd, lambdaMbMs, NO_USAGE, orchestration, perTickets, PICO_PER_USD, total, type Usage } from '../../bench/cost.ts';

const usage = (u: Partial<Usage>): Usage => ({ ...NO_USAGE, ...u });

describe('cost of a run', () => {
  it('prices each component at the list price', () => {
    // prepare: round numbers whose price the pricing pages state directly
    const u = usage({ stateTransitions: 1000, lambdaInvocations: 1_000_000, lambdaMbMs: 1024 * 1000, writeRequestUnits: 1_000_000, readRequestUnits: 1_000_000, emails: 1000 });
    // act
    const c = costOf(u);
    // assess
    expect(formatUsd(c.stepFunctions, 3)).toBe('0.025');
    expect(formatUsd(c.lambdaRequests, 2)).toBe('0.20');
    expect(formatUsd(c.lambdaDuration, 10)).toBe('0.0000133334'); // one GB-second on arm64
    expect(formatUsd(c.dynamodb, 3)).toBe('0.750'); // 0.625 + 0.125
    expect(formatUsd(c.ses, 2)).toBe('0.10');
    expect(formatUsd(orchestration(c), 10)).toBe('0.2250133334');
    expect(total(c)).toBe(orchestration(c) + c.dynamodb + c.ses);
  });

  it('bills each Lambda call rounded up to the millisecond at its memory size', () => {
    expect(lambdaMbMs(512, [0.2, 1, 1.01, 99.5])).toBe(512 * (1 + 1 + 2 + 100));
    expect(lambdaMbMs(1024, [])).toBe(0);
    // 128 MB for 1 ms on arm64: USD 0.0000000016667 (the pricing table rounds it to 0.0000000017)
    expect(formatUsd(costOf(usage({ lambdaMbMs: lambdaMbMs(128, [1]) })).lambdaDuration, 13 - 1)).toBe('0.000000001667');
  });

  it('counts eventually consistent reads as half units', () => {
    const c = costOf(usage({ readRequestUnits: 0.5, writeRequestUnits: 2.5 }));
    // 0.5 × USD 0.125e-6 + 2.5 × USD 0.625e-6
    expect(c.dynamodb).toBe((PICO_PER_USD * 125n) / 2_000_000_000n + (PICO_PER_USD * 625n * 5n) / 2_000_000_000n);
  });

  it('scales to 100,000 tickets exactly when the run had 100,000 and proportionally otherwise', () => {
    const c = costOf(usage({ stateTransitions: 12_345, lambdaInvocations: 678, lambdaMbMs: 999_999, emails: 3 }));
    expect(perTickets(c, 100_000)).toEqual(c);
    const half = perTickets(c, 200_000);
    expect(half.stepFunctions * 2n).toBe(c.stepFunctions);
    expect(perTickets(c, 2_000).ses).toBe(c.ses * 50n);
  });

  it('refuses negative, fractional or missing inputs', () => {
    expect(() => costOf(usage({ stateTransitions: -1 }))).toThrow(CostInputError);
    expect(() => costOf(usage({ lambdaInvocations: 1.5 }))).toThrow(CostInputError);
    expect(() => costOf(usage({ readRequestUnits: 0.25 }))).toThrow(CostInputError);
    expect(() => lambdaMbMs(512, [Number.NaN])).toThrow(CostInputError);
    expect(() => perTickets(costOf(NO_USAGE), 0)).toThrow(CostInputError);
  });

  it('formats with rounding half up and no float on the way', () => {
    expect(formatUsd(4_999_999n, 6)).toBe('0.000005');
    expect(formatUsd(4_999_999n, 5)).toBe('0.00000');
    expect(formatUsd(1_234_567_890_123_456n, 2)).toBe('1234.57');
    expect(formatUsd(0n, 0)).toBe('0');
  });

  it('is additive over runs for the integral components (property)', () => {
    const arbUsage = fc.record({
      stateTransitions: fc.nat(10_000_000),
      lambdaInvocations: fc.nat(1_000_000),
      lambdaMbMs: fc.nat(2_000_000_000),
      writeRequestUnits: fc.nat(10_000_000).map((n) => n / 2),
      readRequestUnits: fc.nat(10_000_000).map((n) => n / 2),
      emails: fc.nat(1_000_000),
    });
    fc.assert(
      fc.property(arbUsage, arbUsage, (a, b) => {
        const whole = costOf(addUsage(a, b));
        const parts = [costOf(a), costOf(b)];
        expect(whole.stepFunctions).toBe(parts[0]!.stepFunctions + parts[1]!.stepFunctions);
        expect(whole.lambdaRequests).toBe(parts[0]!.lambdaRequests + parts[1]!.lambdaRequests);
        expect(whole.ses).toBe(parts[0]!.ses + parts[1]!.ses);
        expect(whole.dynamodb).toBe(parts[0]!.dynamodb + parts[1]!.dynamodb);
        // duration is rounded once per sum: at most one pico-dollar apart
        const diff = whole.lambdaDuration - (parts[0]!.lambdaDuration + parts[1]!.lambdaDuration);
        expect(diff >= -1n && diff <= 1n).toBe(true);
      }),
    );
  });
});
