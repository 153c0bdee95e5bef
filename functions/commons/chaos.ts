/**
 * Crash injection for the restart and chaos tests. Off unless MASS_REFUND_CHAOS is set (never
 * set by the stack): a JSON object mapping a named point to how many passes through it succeed
 * before the process "dies" there, e.g. {"cancel.afterPage": 25}. Points are the places where a
 * crash is worth proving harmless: between two writes, or between a PSP answer and our write.
 */
export class InjectedCrash extends Error {
  constructor(point: string) {
    super(`injected crash at ${point}`);
    this.name = 'InjectedCrash';
  }
}

const passes = new Map<string, number>();

export function crashPoint(point: string): void {
  const spec = process.env.MASS_REFUND_CHAOS;
  if (!spec) return;
  let config: Record<string, number>;
  try {
    config = JSON.parse(spec) as Record<string, number>;
  } catch {
    return;
  }
  const budget = config[point];
  if (budget === undefined) return;
  const seen = (passes.get(point) ?? 0) + 1;
  passes.set(point, seen);
  if (seen > budget) throw new InjectedCrash(point);
}

/** Tests reset the counters between scenarios. */
export function resetCrashPoints(): void {
  passes.clear();
}
