import type { DispatchRefund } from '../../adapters/dynamodb/dispatch-store.ts';
import type { SimulationSelection } from '../../adapters/dynamodb/simulation-selection.ts';
import type { SelectedRefund } from '../../core/dispatch.ts';
import { simulateRefund, type PageNote } from '../../core/dispatch-pass.ts';
import type { CreditPolicy } from '../../core/refund-lifecycle.ts';

/**
 * A simulation's page: says of every refund which pass will touch it, and stores the selected
 * ones as the run's items (the only write: the real run is bound to them).
 */
export async function simulatePage(
  refunds: readonly DispatchRefund[],
  run: { runId: string; policy: CreditPolicy },
  selections: Pick<SimulationSelection, 'save'>,
): Promise<PageNote[]> {
  const notes: PageNote[] = [];
  const selection: SelectedRefund[] = [];
  for (const r of refunds) {
    const { note, selected } = simulateRefund(r, run.policy);
    if (selected) selection.push(selected);
    notes.push(note);
  }
  await selections.save(run.runId, selection);
  return notes;
}
