import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFUND_STATUSES } from '../../lib/core/model.ts';
import {
  BOOKING_OUTCOMES,
  DISPATCH_OUTCOMES,
  DISPATCH_SKIPS,
  EMAIL_OUTCOMES,
  isOutcome,
  LEDGER_OUTCOMES,
  OUTCOME_GROUPS,
  RECONCILE_OUTCOMES,
  renderOutcomeDocs,
  VOUCHER_AND_MANUAL_OUTCOMES,
  WRITE_OFF_SKIPS,
} from '../../lib/core/outcomes.ts';
import { PROJECT_ROOT } from '../../lib/local/paths.ts';

const names = (o: object) => Object.keys(o);

describe('the outcome vocabulary', () => {
  it('knows every plain outcome, every skip reason and every lookup event', () => {
    // prepare
    const plain = [BOOKING_OUTCOMES, DISPATCH_OUTCOMES, RECONCILE_OUTCOMES, LEDGER_OUTCOMES, EMAIL_OUTCOMES, VOUCHER_AND_MANUAL_OUTCOMES].flatMap(names);
    const skips = [...names(WRITE_OFF_SKIPS), ...names(DISPATCH_SKIPS), ...REFUND_STATUSES].map((r) => `skipped:${r}`);
    const lookups = names(RECONCILE_OUTCOMES).filter((o) => o !== 'refunded').map((o) => `lookup:${o}`);
    // act, assess
    expect([...plain, 'deferred:run_stopped', ...skips, ...lookups].filter((o) => !isOutcome(o))).toEqual([]);
  });

  it('refuses names outside it: typos, unknown prefixes, a refunded lookup (tallied as refunded)', () => {
    for (const name of ['refund', 'Refunded', 'skipped:', 'skipped:sending', 'lookup:refunded', 'deferred:other', 'tickets_cancelled:x', '']) {
      expect(isOutcome(name), name).toBe(false);
    }
  });

  it('never takes a name with a prefix it does not know', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (prefix, rest) => {
        fc.pre(!['skipped', 'lookup', 'deferred'].includes(prefix));
        expect(isOutcome(`${prefix}:${rest}`)).toBe(false);
      }),
    );
  });

  it('says what every outcome means, and a name used in two groups means one thing in each', () => {
    for (const group of OUTCOME_GROUPS) {
      for (const [name, meaning] of Object.entries(group.meanings)) {
        expect(meaning.length, `${group.prefix}${name}`).toBeGreaterThan(10);
        expect(isOutcome(`${group.prefix}${name}`), `${group.prefix}${name}`).toBe(true);
      }
    }
  });

  it('docs/outcomes.md is what `npm run inputs` generates from the vocabulary', () => {
    const docs = readFileSync(path.join(PROJECT_ROOT, 'docs/outcomes.md'), 'utf8');
    expect(docs, 'docs/outcomes.md is stale: npm run inputs').toBe(renderOutcomeDocs());
    expect(docs).toContain('| `skipped:not_in_simulation` |');
    expect(docs).toContain('| `emails_unconfirmed` |');
  });
});
