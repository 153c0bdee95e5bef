import * as z from 'zod';
import { DispatchStore } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SimulationSelection } from '../../lib/adapters/dynamodb/simulation-selection.ts';
import { checkAgainstSimulation } from '../../lib/services/dispatch/check.ts';
import { stage } from '../commons/handler.ts';
import { PassChoices } from './shared.ts';

const Input = z.object({ mode: z.enum(['psp', 'credit']), ...PassChoices.shape });

/**
 * 2. Binds a real run to its approved simulation: a succeeded simulate run over the same range
 * and policy, and nothing to touch that it did not show or whose amount changed. Writes nothing.
 */
export const handler = stage(Input, async (pass) =>
  checkAgainstSimulation(pass, { runs: new RunRepository(), store: new DispatchStore(), selections: new SimulationSelection() }),
);
