import type { ScanPage } from '../../adapters/dynamodb/vouchers.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { Tallies } from '../../core/report.ts';
import { planWriteOffPage, recheckWriteOff, tallyWritten, type WriteOffCriteria } from '../../core/write-off.ts';
import { writeOffInGroups, type VoucherStore } from './groups.ts';

/** What a write-off page uses of the store, built by the handler. */
export interface WriteOffPagePorts {
  vouchers: VoucherStore & { scanPage(segment: number, totalSegments: number, limit: number, cursor?: Record<string, unknown>): Promise<ScanPage> };
  /** The run's exclusion snapshot (see `exclusionsOfRun`). */
  exclusions(runId: string): Promise<Set<string>>;
  putSelectedCodes(runId: string, segment: number, page: number, codes: string[]): Promise<void>;
  crash(point: string): void;
}

/** A scan segment's state between pages. */
export interface WriteOffSegmentState {
  runId: string;
  input: WriteOffCriteria & { simulate: boolean; comment?: string | undefined };
  segment: number;
  totalSegments: number;
  cursor?: Record<string, unknown> | null | undefined;
  page: number;
  tallies: Tallies;
  selected: number;
}

/**
 * The run's exclusion snapshot, read once per container: one container serves many pages of the
 * same run. A run that has none was never opened.
 */
export function exclusionsOfRun(read: (runId: string) => Promise<Set<string> | undefined>): (runId: string) => Promise<Set<string>> {
  const cache = new Map<string, Set<string>>();
  return async (runId) => {
    let set = cache.get(runId);
    if (!set) {
      set = await read(runId);
      if (!set) throw new NotFoundError(`runId: run "${runId}" has no exclusion list; it was not opened`);
      cache.clear();
      cache.set(runId, set);
    }
    return set;
  };
}

/**
 * One page of a scan segment: every voucher decided with the core rule; a real run writes off the
 * eligible ones (conditional, so a re-run or a concurrent run never does it twice) and every page
 * stores the codes it selected for the file. Returns the cursor and the running tallies.
 */
export async function writeOffPage<S extends WriteOffSegmentState>(ports: WriteOffPagePorts, event: S, pageSize: number) {
  const { runId, input, segment, totalSegments, page } = event;
  const criteria: WriteOffCriteria = { issuedUpTo: input.issuedUpTo, expiredBefore: input.expiredBefore, kinds: input.kinds, codes: input.codes };
  const ctx = { runId, simulate: input.simulate, criteria, excluded: await ports.exclusions(runId) };
  const { vouchers, cursor } = await ports.vouchers.scanPage(segment, totalSegments, pageSize, event.cursor ?? undefined);
  const plan = planWriteOffPage(vouchers, ctx, event.tallies);
  const order = { runId, comment: input.comment ?? '', at: new Date().toISOString() };
  const written = await writeOffInGroups(ports.vouchers, plan.toWrite, order, (fresh, decided) => recheckWriteOff(fresh, decided, ctx), () => ports.crash('writeOff.afterGroup'));
  const { tallies, selected } = tallyWritten(plan, written);
  if (selected.length) await ports.putSelectedCodes(runId, segment, page, selected);
  return { ...event, cursor: cursor ?? null, page: page + 1, tallies, selected: event.selected + selected.length, done: cursor === undefined };
}
