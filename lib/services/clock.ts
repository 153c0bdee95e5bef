/** Time as the services use it: now, waiting, and the jitter of a back-off. Tests give their own. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/** Time as one Lambda invocation sees it: the wall clock, a wait, and the time left before its time-out. */
export interface InvocationClock extends Pick<Clock, 'now' | 'sleep'> {
  remainingMs(): number;
}

/** The system clock of an invocation whose time left `remainingMs` tells. */
export function invocationClock(remainingMs: () => number): InvocationClock {
  return { now: systemClock.now, sleep: systemClock.sleep, remainingMs };
}
