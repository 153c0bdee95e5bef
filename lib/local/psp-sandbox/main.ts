/**
 * Standalone PSP sandbox: `npx tsx lib/local/psp-sandbox/main.ts --port N [--rate R] [--seed S] [--host H]`.
 * Prints one JSON line {"url": ...} on stdout once listening; stops on SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import { startPspSandbox } from './index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    rate: { type: 'string' },
    seed: { type: 'string' },
  },
});

function intOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return n;
}

const rate = intOption('rate', values.rate);
const sandbox = await startPspSandbox({
  port: intOption('port', values.port) ?? 0,
  host: values.host,
  rateLimitPerSecond: rate && rate > 0 ? rate : null,
  seed: intOption('seed', values.seed) ?? 1,
});
process.stdout.write(`${JSON.stringify({ url: sandbox.url, pid: process.pid })}\n`);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  sandbox.stop().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
