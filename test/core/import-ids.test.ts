import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_MAX_LENGTH, idSchema, KEY_SEPARATOR } from '../../lib/core/import-schema.ts';

describe('ids of imported records', () => {
  it('are refused whenever they hold the key separator, whatever else they hold (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    fc.assert(
      fc.property(text, text, (before, after) => {
        const id = `${before}${KEY_SEPARATOR}${after}`;
        fc.pre(id.trim().length > 0 && id.length <= ID_MAX_LENGTH);
        const parsed = idSchema.safeParse(id);
        expect(parsed.success).toBe(false);
        expect(parsed.error?.issues.map((i) => i.message)).toEqual([expect.stringContaining('must not contain "#" (it separates the parts of database keys)')]);
      }),
    );
  });

  it('are accepted without it (non-blank, at most 200 characters)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: ID_MAX_LENGTH }).filter((s) => !s.includes(KEY_SEPARATOR) && s.trim().length > 0), (id) => {
        expect(idSchema.safeParse(id).success).toBe(true);
      }),
    );
  });
});
