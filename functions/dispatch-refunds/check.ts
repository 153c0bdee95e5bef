import * as z from 'zod';
import { DispatchStore } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { compareWithSimulation, refusesToStart, SimulationMismatchError, type SelectedRefund } from '../../lib/core/dispatch.ts';
import { NotFoundError } from '../../lib/core/errors.ts';
import { creditPassSelects, pspPassSelects, CREDIT_POLICIES } from '../../lib/core/refund-lifecycle.ts';
import { stage } from '../commons/handler.ts';
import { WORKFLOW } from './shared.ts';

const Input = z.object({
  mode: z.enum(['psp', 'credit']),
  from: z.string(),
  to: z.string(),
  creditPolicy: z.enum(CREDIT_POLICIES),
  simulationRunId: z.string(),
  performanceId: z.string().nullish().transform((p) => p ?? null),
  notifyCustomers: z.boolean().default(true),
});

/**
 * 2. Binds a real run to its approved simulation: a succeeded simulate run over the same range
 * and policy, and nothing to touch that it did not show or whose amount changed. Writes nothing.
 */
export const handler = stage(Input, async ({ mode, from, to, creditPolicy, simulationRunId, performanceId, notifyCustomers }) => {
  const sim = await new RunRepository().get(simulationRunId);
  if (!sim) throw new NotFoundError(`simulationRunId: no run "${simulationRunId}"`);
  const simInput = (sim.input ?? {}) as { mode?: string; from?: string; to?: string; creditPolicy?: string; performanceId?: string | null; notifyCustomers?: boolean };
  const mismatch = (reason: string) => new SimulationMismatchError(`simulationRunId: run "${simulationRunId}" ${reason}`);
  if (sim.workflow !== WORKFLOW || simInput.mode !== 'simulate') throw mismatch(`is not a ${WORKFLOW} simulation`);
  if (sim.status !== 'succeeded') throw mismatch(`did not succeed (status ${sim.status})`);
  if (simInput.from !== from || simInput.to !== to) throw mismatch(`covers [${simInput.from}, ${simInput.to}), not [${from}, ${to})`);
  if ((simInput.creditPolicy ?? 'fallback') !== creditPolicy) throw mismatch(`was made with creditPolicy ${simInput.creditPolicy}, not ${creditPolicy}`);
  // A pass bound to one performance's simulation touches that performance only, and tells customers as simulated.
  const simulatedPerformance = simInput.performanceId ?? null;
  if (simulatedPerformance !== performanceId) {
    throw mismatch(`was made for ${simulatedPerformance ? `performance "${simulatedPerformance}"` : 'every performance'}, not ${performanceId ? `performance "${performanceId}"` : 'every performance'}`);
  }
  const simulatedNotify = simInput.notifyCustomers ?? true;
  if (simulatedNotify !== notifyCustomers) throw mismatch(`was made with notifyCustomers ${simulatedNotify}, not ${notifyCustomers}`);

  const store = new DispatchStore();
  const [simulated, open] = await Promise.all([store.selection(simulationRunId), store.allOpen(from, to, performanceId)]);
  const selects = mode === 'psp' ? pspPassSelects : creditPassSelects;
  const current: SelectedRefund[] = open.filter((r) => selects(r, creditPolicy)).map((r) => ({ id: r.id, amount: r.amount.amount, currency: r.amount.currency, status: r.status }));
  const diff = compareWithSimulation(simulated, current);
  if (refusesToStart(diff)) throw SimulationMismatchError.fromDifference(simulationRunId, diff);
  return { simulated: simulated.length, toTouch: current.length, notOpenAnyMore: diff.settledSince.count };
});
