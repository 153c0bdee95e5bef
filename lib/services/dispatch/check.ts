import type { DispatchStore } from '../../adapters/dynamodb/dispatch-store.ts';
import type { RunRepository } from '../../adapters/dynamodb/runs.ts';
import type { SimulationSelection } from '../../adapters/dynamodb/simulation-selection.ts';
import { compareWithSimulation, refusesToStart, SimulationMismatchError, simulationRefusal, type PassChoices, type SelectedRefund } from '../../core/dispatch.ts';
import { NotFoundError } from '../../core/errors.ts';
import { passSelects } from '../../core/refund-lifecycle.ts';

export interface CheckDeps {
  runs: Pick<RunRepository, 'get'>;
  store: Pick<DispatchStore, 'allOpen'>;
  selections: Pick<SimulationSelection, 'all'>;
}

/**
 * Binds a real pass to its approved simulation: a succeeded simulate run over the same range and
 * choices, and nothing to touch that it did not show or whose amount changed. Reads only.
 */
export async function checkAgainstSimulation(pass: PassChoices & { mode: 'psp' | 'credit'; simulationRunId: string }, deps: CheckDeps) {
  const { mode, from, to, creditPolicy, simulationRunId, performanceId } = pass;
  const sim = await deps.runs.get(simulationRunId);
  if (!sim) throw new NotFoundError(`simulationRunId: no run "${simulationRunId}"`);
  const refusal = simulationRefusal(sim, pass);
  if (refusal) throw new SimulationMismatchError(`simulationRunId: run "${simulationRunId}" ${refusal}`);
  const [simulated, open] = await Promise.all([deps.selections.all(simulationRunId), deps.store.allOpen(from, to, performanceId)]);
  const selects = passSelects(mode);
  const current: SelectedRefund[] = open.filter((r) => selects(r, creditPolicy)).map((r) => ({ id: r.id, amount: r.amount.amount, currency: r.amount.currency, status: r.status }));
  const diff = compareWithSimulation(simulated, current);
  if (refusesToStart(diff)) throw SimulationMismatchError.fromDifference(simulationRunId, diff);
  return { simulated: simulated.length, toTouch: current.length, notOpenAnyMore: diff.settledSince.count };
}
