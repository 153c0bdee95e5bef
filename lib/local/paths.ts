import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the local runtime keeps its state, logs and synthesized template. */
export function localHome(): string {
  return process.env.MASS_REFUND_HOME ?? path.join(PROJECT_ROOT, '.local');
}

/** What the local runtime's Task states call: the deployed bundles (default) or the TypeScript sources in-process. */
export type HandlerMode = 'bundles' | 'source';

/** MASS_REFUND_LOCAL_HANDLERS=source switches the local runtime to the faster source modules (inner-loop work). */
export function handlerModeFromEnv(env: NodeJS.ProcessEnv = process.env): HandlerMode {
  return env.MASS_REFUND_LOCAL_HANDLERS === 'source' ? 'source' : 'bundles';
}
