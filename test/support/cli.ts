import { PassThrough } from 'node:stream';
import { main } from '../../lib/cli/main.ts';
import type { Io } from '../../lib/cli/io.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * Runs the CLI in this process, as `mass-refund ARGS` would run, with stdout and stderr captured
 * (a terminal or a pipe as asked) and stdin closed unless text is given.
 */
export async function cli(args: string[], opts: { tty?: boolean; stdin?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdin.isTTY = opts.tty === true;
  stdin.end(opts.stdin ?? '');
  const io: Io = {
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: opts.tty === true, columns: 120 },
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: opts.tty === true, columns: 120 },
    stdin,
  };
  const code = await main(args, io);
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch (error) {
        throw new Error(`stdout is not JSON (exit ${code}): ${stdout}\nstderr: ${stderr}`, { cause: error });
      }
    },
  };
}
