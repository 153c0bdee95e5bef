import { describe, expect, it } from 'vitest';
import { getOrCreate } from '../../lib/core/collections.ts';

describe('getOrCreate', () => {
  it('makes a value once per key and returns the stored one after', () => {
    // prepare
    const map = new Map<string, string[]>();
    let made = 0;
    const make = () => {
      made++;
      return [];
    };
    // act
    getOrCreate(map, 'a', make).push('x');
    getOrCreate(map, 'a', make).push('y');
    getOrCreate(map, 'b', make);
    // assess
    expect(made).toBe(2);
    expect(map.get('a')).toEqual(['x', 'y']);
    expect(map.get('b')).toEqual([]);
  });
});
