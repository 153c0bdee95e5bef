/**
 * npm run bench -- [--tickets N] [--psp-rate R] [--ses-rate S] [--scaling [10000,50000,100000]] [--no-bundles] [--bundles-only]
 *                  [--init-runs K] [--sweep-orders K] [--raw-share S] [--group-orders [SHARE]] [--help]
 * Prints the tables and writes bench/results/<date>.json (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/local/paths.ts';
import { formatResult, formatSize } from './report.ts';
import { DEFAULT_GROUP_ORDERS } from './data.ts';
import { runBench, type BenchOptions, type SizeResult } from './run.ts';

const USAGE = `usage: npm run bench -- [options]
  --tickets N          one size of N tickets (default 100000)
  --psp-rate R         the PSP sandbox's rate limit in requests/s (default 200)
  --ses-rate S         the emulated SES account's emails per second (SendEmails' quota; default 50)
  --scaling [a,b,c]    several sizes one after the other (default 10000,50000,100000)
  --no-bundles         skip the Lambda bundle table
  --bundles-only       only the Lambda bundle table (size, cold init per bundle of the cloud assembly)
  --init-runs K        cold loads per bundle, median reported (default 3)
  --sweep-orders K     orders in the raw-write concurrency sweep
  --raw-share S        share of the orders the raw baseline times, in (0, 1]
  --group-orders [S]   run each size again with a share S (default 0.05) of its tickets in group orders
  --help               this text`;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

class HelpRequested extends Error {
  constructor() {
    super('help');
    this.name = 'HelpRequested';
  }
}

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value?.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} needs a positive integer, got ${value ?? 'nothing'}`);
  return n;
}

export function parseArgs(argv: string[]): BenchOptions {
  const opts: BenchOptions = { sizes: [100_000], pspRate: 200, bundles: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? (arg.split('=', 2) as [string, string]) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--tickets':
        opts.sizes = [positiveInt('--tickets', value())];
        break;
      case '--psp-rate':
        opts.pspRate = positiveInt('--psp-rate', value());
        break;
      case '--ses-rate':
        opts.sesRate = positiveInt('--ses-rate', value());
        break;
      case '--scaling': {
        const next = inline ?? (argv[i + 1] && !argv[i + 1]?.startsWith('--') ? argv[++i] : undefined);
        opts.sizes = next ? next.split(',').map((s) => positiveInt('--scaling', s)) : [10_000, 50_000, 100_000];
        break;
      }
      case '--no-bundles':
        opts.bundles = false;
        break;
      case '--bundles-only':
        opts.sizes = [];
        opts.bundles = true;
        break;
      case '--help':
      case '-h':
        throw new HelpRequested();
      case '--init-runs':
        opts.initRuns = positiveInt('--init-runs', value());
        break;
      case '--raw-share': {
        const share = Number(value());
        if (!(share > 0 && share <= 1)) throw new UsageError('--raw-share needs a number in (0, 1]');
        opts.rawShare = share;
        break;
      }
      case '--group-orders': {
        // Optional share (0 < share < 1) of the tickets sold in group orders of 100 to 2,000 tickets.
        const next = inline ?? (argv[i + 1] && !argv[i + 1]?.startsWith('--') ? argv[++i] : undefined);
        const share = next === undefined ? DEFAULT_GROUP_ORDERS.share : Number(next);
        if (!(share > 0 && share < 1)) throw new UsageError('--group-orders takes a share in (0, 1), e.g. 0.05');
        opts.groupOrders = { ...DEFAULT_GROUP_ORDERS, share };
        break;
      }
      case '--sweep-orders':
        opts.sweepOrders = positiveInt('--sweep-orders', value());
        break;
      default:
        throw new UsageError(`unknown option ${arg}\n${USAGE}`);
    }
  }
  return opts;
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const t0 = Date.now();
  const dir = path.join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-');
  // Each size as soon as it is measured, on stderr and in its own file: a later size that fails or hangs loses nothing.
  const onSize = (size: SizeResult) => {
    console.error(`\n${formatSize(size)}\n`);
    writeFileSync(path.join(dir, `${stamp}-size-${size.tickets}${size.variant === 'group' ? '-group' : ''}.json`), JSON.stringify(size, null, 2));
  };
  const result = await runBench({ ...opts, onSize, log: (line) => console.error(`${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s  ${line}`) });
  console.log(formatResult(result));
  const file = path.join(dir, `${result.startedAt.replace(/[:.]/g, '-')}-${result.sizes.map((s) => s.tickets).join('-')}${result.groupVariants ? '-group' : ''}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(`\nfigures written to ${path.relative(PROJECT_ROOT, file)}`);
  return 0;
}

process.exitCode = await main();
