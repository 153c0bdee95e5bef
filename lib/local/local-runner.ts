/**
 * The runner over the synthesized stack, pointed at a local runtime (tables under a prefix, the
 * emulators' endpoints): what the CLI, the tests, the bench, the chaos suite and the scripts use.
 */
import { localSecrets } from './env.ts';
import { PROJECT_ROOT } from './paths.ts';
import { LocalRunner, type RunnerOptions } from './runner.ts';
import { tableNamesByLogicalId } from './tables.ts';

export interface LocalRuntimeRunnerOptions extends Omit<RunnerOptions, 'template' | 'templatePath' | 'tableNames' | 'env' | 'projectRoot' | 'secrets'> {
  /** The synthesized template and its file in the cloud assembly (synthesizeTemplate()). */
  synth: { template: Record<string, unknown>; path: string };
  tablePrefix: string;
  /** localEnvironment(...) of the runtime. */
  env: Record<string, string>;
}

export function runnerForLocalRuntime(opts: LocalRuntimeRunnerOptions): LocalRunner {
  const { synth, tablePrefix, env, ...rest } = opts;
  return new LocalRunner({
    template: synth.template,
    templatePath: synth.path,
    tableNames: tableNamesByLogicalId(synth.template, tablePrefix),
    env,
    secrets: localSecrets(env),
    projectRoot: PROJECT_ROOT,
    ...rest,
  });
}
