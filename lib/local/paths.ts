import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the local runtime keeps its state, logs and synthesized template. */
export function localHome(): string {
  return process.env.MASS_REFUND_HOME ?? path.join(PROJECT_ROOT, '.local');
}
