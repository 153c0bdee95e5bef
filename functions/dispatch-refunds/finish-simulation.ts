import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SimulationSelection } from '../../lib/adapters/dynamodb/simulation-selection.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import { systemClock } from '../../lib/services/clock.ts';
import { finishSimulation } from '../../lib/services/dispatch/finish.ts';
import { stage } from '../commons/handler.ts';

const Input = z.object({
  simulationRunId: z.string(),
  mode: z.enum(['simulate', 'psp', 'credit']),
  shardResults: z.array(z.object({ tallies: TalliesSchema })),
});

/**
 * Closes a simulation: count and total per currency, the fingerprint of the selection
 * (SHA-256 over sorted id:amount:currency lines), and, for a scheduled psp/credit run, whether
 * the totals are under the auto-approval limits (else a person approves it).
 */
export const handler = stage(Input, async (input) =>
  finishSimulation(input, {
    runs: new RunRepository(),
    selections: new SimulationSelection(),
    clock: systemClock,
    limits: process.env.MASS_REFUND_AUTO_APPROVAL_LIMITS ?? process.env.AUTO_APPROVAL_LIMITS,
  }),
);
