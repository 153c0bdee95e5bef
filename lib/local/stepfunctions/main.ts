/**
 * The local Step Functions endpoint as its own process (`local up` starts it detached, like the
 * PSP sandbox), so executions outlive the CLI call that started them:
 * `npx tsx lib/local/stepfunctions/main.ts --port N --template T --prefix P --dynamodb U --ses U --psp U`.
 * Prints one JSON line {"url": ...} on stdout once listening; stops on SIGTERM/SIGINT.
 */
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { applyEnvironment, localEnvironment, stageTuning } from '../env.ts';
import { runnerForLocalRuntime } from '../local-runner.ts';
import { localHome } from '../paths.ts';
import { tableNamesByLogicalId } from '../tables.ts';
import type { CfnTemplate } from '../template.ts';
import { StepFunctionsEndpoint, startStepFunctionsEndpoint } from './server.ts';
import { LocalStack } from './stack.ts';

const { values } = parseArgs({
  strict: true,
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    template: { type: 'string' },
    prefix: { type: 'string' },
    dynamodb: { type: 'string' },
    ses: { type: 'string' },
    psp: { type: 'string' },
  },
});

for (const required of ['template', 'prefix', 'dynamodb', 'ses', 'psp'] as const) {
  if (!values[required]) {
    process.stderr.write(`--${required} is required\n`);
    process.exit(2);
  }
}

// The functions' containers log through this process's console: into the functions log.
const logFile = path.join(localHome(), 'logs', 'functions.log');
mkdirSync(path.dirname(logFile), { recursive: true });
const log = createWriteStream(logFile, { flags: 'a' });
const write = (...args: unknown[]) => log.write(`${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
console.log = console.info = console.warn = console.error = console.debug = console.trace = write;

const template = JSON.parse(readFileSync(values.template as string, 'utf8')) as CfnTemplate;
const prefix = values.prefix as string;
const env = localEnvironment({ dynamodb: values.dynamodb as string, ses: values.ses as string, psp: values.psp as string }, prefix);
applyEnvironment(env);
const tableNames = tableNamesByLogicalId(template, prefix);
// The deployed bundles of the cloud assembly the template belongs to, in their own containers.
const runner = runnerForLocalRuntime({ synth: { template: template as unknown as Record<string, unknown>, path: values.template as string }, tablePrefix: prefix, env, functionEnv: stageTuning() });
const endpoint = new StepFunctionsEndpoint(new LocalStack({ template, tableNames, region: env.AWS_REGION }), runner);
const running = await startStepFunctionsEndpoint(endpoint, { port: Number(values.port), host: values.host });
process.stdout.write(`${JSON.stringify({ url: running.url, pid: process.pid })}\n`);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  running
    .stop()
    .then(() => runner.close())
    .then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
