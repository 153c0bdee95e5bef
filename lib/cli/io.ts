import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { localHome } from '../local/paths.ts';

/** Exit codes of the contract. */
export const EXIT = { ok: 0, workflowFailed: 1, badInput: 2 } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Results go to stdout as JSON; people read stderr. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function info(line: string): void {
  process.stderr.write(line + '\n');
}

let logStream: WriteStream | undefined;

/**
 * Handlers run in-process and log through console (POWERTOOLS_DEV): send those lines to a log
 * file so stdout stays pure JSON.
 */
export function captureFunctionLogs(): string {
  const file = path.join(localHome(), 'logs', 'functions.log');
  if (!logStream) {
    mkdirSync(path.dirname(file), { recursive: true });
    logStream = createWriteStream(file, { flags: 'a' });
    const write = (...args: unknown[]) => {
      logStream?.write(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') + '\n');
    };
    console.log = write;
    console.info = write;
    console.warn = write;
    console.error = write;
    console.debug = write;
    console.trace = write;
  }
  return file;
}

/** A one-line progress display on stderr (only on a terminal). */
export class Progress {
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly label: string) {}

  update(done: number, total?: number, extra = ''): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    let bar = '';
    if (total && total > 0) {
      const width = 30;
      const filled = Math.min(width, Math.round((done / total) * width));
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} `;
    } else {
      bar = `${done} `;
    }
    process.stderr.write(`\r${this.label} ${bar}${extra}`.padEnd(100).slice(0, 120));
  }

  done(): void {
    if (this.tty) process.stderr.write('\r' + ' '.repeat(120) + '\r');
  }
}

export function parseArgs(argv: string[]): { positional: string[]; flags: Record<string, string | true> } {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) flags[arg.slice(2, eq)] = arg.slice(eq + 1);
      else {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('--')) {
          flags[arg.slice(2)] = next;
          i++;
        } else flags[arg.slice(2)] = true;
      }
    } else positional.push(arg);
  }
  return { positional, flags };
}
