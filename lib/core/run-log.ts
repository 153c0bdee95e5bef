/**
 * The run-log key of one page of a shard (or scan segment): sorted by shard, then page, so
 * `report` reads a run's log in order; a prefix keeps a second pass of the same run apart.
 */
export function pageLogKey(shard: number, page: number, opts: { unit?: 'shard' | 'seg'; prefix?: string } = {}): string {
  return `${opts.prefix ?? ''}${opts.unit ?? 'shard'}${String(shard).padStart(2, '0')}#page${String(page).padStart(5, '0')}`;
}
