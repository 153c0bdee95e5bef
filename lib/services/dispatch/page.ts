import type { DispatchRefund, DispatchStore } from '../../adapters/dynamodb/dispatch-store.ts';
import type { RefundCredits } from '../../adapters/dynamodb/refund-credits.ts';
import type { SimulationSelection } from '../../adapters/dynamodb/simulation-selection.ts';
import type { RefundPsp } from '../../adapters/psp/port.ts';
import { approvedBy, foldNotes, passCandidates, type PageNote } from '../../core/dispatch-pass.ts';
import type { CreditPolicy } from '../../core/refund-lifecycle.ts';
import type { Tallies } from '../../core/report.ts';
import { creditPass } from './credit-pass.ts';
import { pspPass, type PspPassConfig, type PspPassDeps } from './psp-pass.ts';
import { simulatePage } from './simulate-page.ts';

/** Where one page of a pass stands: the pass's choices and the shard's cursor and tallies so far. */
export interface PassPage {
  runId: string;
  mode: 'simulate' | 'psp' | 'credit';
  from: string;
  to: string;
  creditPolicy: CreditPolicy;
  simulationRunId: string;
  performanceId: string | null;
  notifyCustomers: boolean;
  shard: number;
  cursor: string | null;
  tallies: Tallies;
}

export interface DispatchConfig {
  /** Refunds read a page by the psp pass (it sends each), and by the others. */
  pspPageSize: number;
  pageSize: number;
  creditsPerTransaction: number;
  psp: PspPassConfig;
}

export interface DispatchPageDeps extends Omit<PspPassDeps, 'psp' | 'store' | 'config'> {
  store: Pick<DispatchStore, 'openRefundsPage' | 'claim' | 'settleClaim' | 'refundsOfOrder'>;
  selections: Pick<SimulationSelection, 'save' | 'of'>;
  credits: Pick<RefundCredits, 'creditMany'>;
  /** The PSP client, asked for by the psp pass only (it reads the PSP's secret). */
  psp: () => Promise<RefundPsp>;
  config: DispatchConfig;
}

/** What a page did: the shard's next cursor (null: done), its tallies with this page's, and the page's run-log lines. */
export interface PageResult {
  cursor: string | null;
  tallies: Tallies;
  lines: string[];
}

/**
 * One page of one open-refunds shard, for any pass: simulate (select and note, write only the
 * run's items), psp (claim, send, write the outcome) or credit (each refund's transaction, packed
 * several to one). A real pass touches only what its simulation approved, amount unchanged.
 */
export async function dispatchPage(state: PassPage, deps: DispatchPageDeps): Promise<PageResult> {
  const limit = state.mode === 'psp' ? deps.config.pspPageSize : deps.config.pageSize;
  const page = await deps.store.openRefundsPage(state.shard, state.from, state.to, state.cursor, limit, state.performanceId);
  const notes = await passNotes(state, page.refunds, deps);
  return { cursor: page.cursor, ...foldNotes(state.tallies, notes) };
}

async function passNotes(state: PassPage, refunds: DispatchRefund[], deps: DispatchPageDeps): Promise<PageNote[]> {
  if (state.mode === 'simulate') return simulatePage(refunds, { runId: state.runId, policy: state.creditPolicy }, deps.selections);
  const candidates = passCandidates(refunds, state.mode, state.creditPolicy);
  const simulated = await deps.selections.of(state.simulationRunId, candidates.map((r) => r.id));
  const approved = (r: DispatchRefund) => approvedBy(simulated.get(r.id), r);
  if (state.mode === 'psp') {
    const run = { runId: state.runId, policy: state.creditPolicy, notify: state.notifyCustomers, approved };
    return pspPass(candidates, run, { ...deps, psp: await deps.psp(), config: deps.config.psp });
  }
  const at = new Date(deps.clock.now()).toISOString();
  const run = { runId: state.runId, simulationRunId: state.simulationRunId, notify: state.notifyCustomers, at, perTransaction: deps.config.creditsPerTransaction, approved };
  return creditPass(candidates, run, deps.credits);
}
