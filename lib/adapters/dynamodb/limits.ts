import { packInOrder } from '../../core/booking-parts.ts';

/**
 * DynamoDB's request limits. Every batch the adapters build is cut to these, whatever a tuning
 * knob (environment variable) asks for: a knob may make batches smaller, never invalid.
 */
export const DYNAMODB_LIMITS = {
  /** Actions in one TransactWriteItems. */
  transactItems: 100,
  /** Total size of one TransactWriteItems (4 MB). */
  transactBytes: 4 * 1024 * 1024,
  /** Put/Delete requests in one BatchWriteItem. */
  batchWriteItems: 25,
  /** Total size of one BatchWriteItem (16 MB). */
  batchWriteBytes: 16 * 1024 * 1024,
  /** Keys in one BatchGetItem. */
  batchGetKeys: 100,
} as const;

/**
 * A requested batch size, clamped to [1, max]: a missing, non-integer, zero or negative request
 * takes the fallback (itself clamped).
 */
export function clampBatchSize(requested: number | undefined, max: number, fallback = max): number {
  const n = requested !== undefined && Number.isSafeInteger(requested) && requested > 0 ? requested : fallback;
  return Math.max(1, Math.min(max, Math.floor(n)));
}

/**
 * An upper bound of the size DynamoDB counts for an item or request part: UTF-8 bytes of every
 * attribute name and string, 21 bytes per number, 1 per boolean or null, plus 3 bytes per list or
 * map and per element (DynamoDB's own overhead is smaller). Used to keep a transaction under 4 MB.
 */
export function approximateItemBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number' || typeof value === 'bigint') return 21;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return 3 + [...value].reduce((n: number, v) => n + approximateItemBytes(v) + 1, 0);
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + approximateItemBytes(v) + 1, 0);
  if (typeof value === 'object') {
    let n = 3;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) n += Buffer.byteLength(k, 'utf8') + approximateItemBytes(v) + 1;
    return n;
  }
  return Buffer.byteLength(String(value), 'utf8');
}

/**
 * Packs units (each a list of transaction actions that must commit together) in order into
 * transactions of at most `maxUnits` units (any request is taken as a wish), 100 actions and 4 MB.
 * A unit that alone breaks a limit cannot be packed: RangeError (the caller books it otherwise).
 */
export function packTransactions<T>(units: readonly T[], actionsOf: (unit: T) => readonly unknown[], opts: { maxUnits?: number } = {}): T[][] {
  const maxActions = DYNAMODB_LIMITS.transactItems;
  const maxUnits = clampBatchSize(opts.maxUnits, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const sizes = (unit: T) => {
    const list = actionsOf(unit);
    const size = list.reduce((n: number, a) => n + approximateItemBytes(a), 0);
    if (list.length > maxActions || size > DYNAMODB_LIMITS.transactBytes) {
      throw new RangeError(`a unit of ${list.length} actions (~${size} bytes) does not fit one transaction (${maxActions} actions, ${DYNAMODB_LIMITS.transactBytes} bytes)`);
    }
    return [list.length, size];
  };
  return packInOrder(units, sizes, [maxActions, DYNAMODB_LIMITS.transactBytes], maxUnits);
}
