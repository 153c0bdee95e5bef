import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefundCredits } from '../../../lib/adapters/dynamodb/refund-credits.ts';
import { allRefunds, creditEntries, pendingRefunds, setAmount } from '../../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const AT = '2026-07-13T09:00:00Z';

describe('RefundCredits packed writes', () => {
  it('credits refunds packed several to a transaction; a pack with a refund changed meanwhile is credited refund by refund', async () => {
    // prepare: 7 pending refunds read, then one of them changes before the credit pass writes
    const fixtures = await pendingRefunds('cm', '2026-07-12T20:00:00Z', Array.from({ length: 7 }, () => ({ method: 'klarna' as const })));
    const store = new RefundCredits();
    const before = await allRefunds();
    const read = fixtures.map((f) => before.get(f.id)!);
    await setAmount(fixtures[4]!.id, 1);
    // act: packs of 3 -> [0,1,2] [3,4,5] [6]; the second pack fails on refund 4 and falls back
    const credited = await store.creditMany(read, 'credit-run', AT, 3);
    // assess
    expect([...credited].sort()).toEqual(fixtures.filter((_, i) => i !== 4).map((f) => f.id).sort());
    const after = await allRefunds();
    const entries = await creditEntries();
    for (const [i, f] of fixtures.entries()) {
      expect(after.get(f.id)?.status).toBe(i === 4 ? 'pending' : 'credited');
      expect(entries.has(f.id)).toBe(i !== 4);
      if (i !== 4) expect(after.get(f.id)?.notification).toMatchObject({ kind: 'credited', status: 'unsent' });
    }
    // A second pass over the same (now stale) reads credits nothing twice.
    expect((await store.creditMany(read, 'credit-run-2', AT, 3)).size).toBe(0);
    expect((await creditEntries()).size).toBe(entries.size);
  });
});
