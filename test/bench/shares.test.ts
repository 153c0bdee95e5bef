import { describe, expect, it } from 'vitest';
import { sharesOf } from '../../bench/executions.ts';

describe('handler time shares', () => {
  it('splits overlapping time equally and adds up to the busy time', () => {
    // prepare: A alone 0-10, A and B together 10-20, B alone 20-30, C apart 40-45
    const intervals = [
      { start: 0, end: 20 },
      { start: 10, end: 30 },
      { start: 40, end: 45 },
    ];
    // act
    const shares = sharesOf(intervals);
    // assess
    expect(shares).toEqual([15, 15, 5]);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(35);
  });

  it('gives zero-length calls no share and handles none', () => {
    expect(sharesOf([{ start: 5, end: 5 }])).toEqual([0]);
    // A zero-length call among others takes nothing from them (it used to stay open and take a share of all that followed).
    expect(sharesOf([{ start: 5, end: 5 }, { start: 5, end: 25 }])).toEqual([0, 20]);
    expect(sharesOf([])).toEqual([]);
  });
});
