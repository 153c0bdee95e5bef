import { invocationClock, type InvocationClock } from '../../lib/services/clock.ts';
import type { StageContext } from './handler.ts';

/** The clock of this invocation: the wall clock, a wait, and the time left before the Lambda's time-out. */
export function lambdaClock(ctx: StageContext): InvocationClock {
  return invocationClock(() => ctx.lambda.getRemainingTimeInMillis());
}
