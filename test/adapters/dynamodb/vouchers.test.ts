import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExclusionSnapshot, snapshotExclusions } from '../../../lib/adapters/dynamodb/vouchers.ts';
import { startTestRuntime, type TestRuntime } from '../../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

describe("a write-off run's exclusion snapshot", () => {
  it('reads back every excluded code of a list far beyond one 1 MB query page', async () => {
    // prepare: 120,000 codes of 32 characters, 10,000 to an item: about 4 MB in 12 items
    const ids = Array.from({ length: 120_000 }, (_, i) => `EXCLUDED-${String(i).padStart(23, '0')}`);
    await snapshotExclusions('run-long-exclusions', ids);
    // act
    const read = await readExclusionSnapshot('run-long-exclusions');
    // assess
    expect(read?.size).toBe(ids.length);
    expect(ids.every((id) => read?.has(id))).toBe(true);
  });

  it('tells a run that kept no snapshot from one whose list was empty', async () => {
    await snapshotExclusions('run-no-exclusions', []);
    expect(await readExclusionSnapshot('run-never-snapshot')).toBeUndefined();
    expect((await readExclusionSnapshot('run-no-exclusions'))?.size).toBe(0);
  });
});
