/** Exit codes of the contract. */
export const EXIT = { ok: 0, workflowFailed: 1, badInput: 2 } as const;

/** Bad use of the command line (unknown command or option, missing argument): exit 2, nothing written. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

export interface Out {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Where a command writes: results to stdout, people read stderr; stdin for confirmations. */
export interface Io {
  stdout: Out;
  stderr: Out;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: unknown };
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Results go to stdout as JSON (as before: two-space indented). */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function info(io: Io, line: string): void {
  io.stderr.write(`${line}\n`);
}

/**
 * Readable text instead of JSON on stdout: on a terminal unless `--json`, or when `--pretty`
 * asks for it (e.g. piped into a pager).
 */
export function wantsText(io: Io, flags: { json?: boolean; pretty?: boolean }): boolean {
  if (flags.json) return false;
  if (flags.pretty) return true;
  return io.stdout.isTTY === true;
}

/** Asks a yes/no question on a terminal; anything but y/yes is no. */
export async function confirm(io: Io, question: string): Promise<boolean> {
  io.stderr.write(`${question} [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        cleanup();
        resolve(text.slice(0, nl));
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(text);
    };
    const cleanup = () => {
      io.stdin.off('data', onData);
      io.stdin.off('end', onEnd);
      io.stdin.pause();
    };
    io.stdin.on('data', onData);
    io.stdin.on('end', onEnd);
    io.stdin.resume();
  });
  return /^\s*(y|yes)\s*$/i.test(answer);
}
