/**
 * Strict command-line parsing on node:util parseArgs: an unknown option or a missing value is bad
 * input (exit 2) naming the nearest valid option; `--help`/`-h` anywhere prints the usage.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './io.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of the value in the usage, e.g. RUN_ID. */
  value?: string;
  help: string;
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  /** The arguments after the command, as the usage shows them, e.g. `WORKFLOW`. */
  args: string;
  summary: string;
  /** Positional arguments: at least `min`, at most `max`. */
  positionals: { min: number; max: number; names: string[] };
  options: Record<string, OptionSpec>;
  /** More text under the options (examples, notes). */
  details?: string;
}

export const HELP_OPTION: Record<string, OptionSpec> = { help: { type: 'boolean', short: 'h', help: 'show this help and exit' } };

/** Levenshtein distance (small inputs: option and command names). */
export function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The candidate closest to `word` (case-insensitive), if it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    const d = lc.startsWith(w) || w.startsWith(lc) ? Math.min(1, distance(w, lc)) : distance(w, lc);
    if (!best || d < best.d) best = { c, d };
  }
  if (!best) return undefined;
  return best.d <= Math.max(2, Math.floor(best.c.length / 3)) ? best.c : undefined;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  const hit = nearest(word, candidates);
  return hit ? `; did you mean ${hit}?` : `; valid: ${candidates.join(', ')}`;
}

/** `--help` or `-h` before a `--` terminator. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses a command's arguments strictly; every problem is a UsageError naming what is valid. */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const options = { ...spec.options, ...HELP_OPTION };
  const config = Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]));
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: config, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    const names = Object.keys(options).map((n) => `--${n}`);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`${spec.name}: unknown option ${option}${didYouMean(option.replace(/=.*$/, ''), names)}\n${usageLine(spec)}`, { cause: error });
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const option = /'(--?[\w-]+)/.exec(message)?.[1] ?? '';
      const o = options[option.replace(/^-+/, '')];
      throw new UsageError(
        o?.type === 'boolean' ? `${spec.name}: option ${option} takes no value\n${usageLine(spec)}` : `${spec.name}: option ${option} needs a value${o?.value ? ` (${o.value})` : ''}\n${usageLine(spec)}`,
        { cause: error },
      );
    }
    throw new UsageError(`${spec.name}: ${message}\n${usageLine(spec)}`, { cause: error });
  }
  for (const [name, o] of Object.entries(options)) {
    const v = parsed.values[name];
    if (o.choices && typeof v === 'string' && !o.choices.includes(v)) {
      throw new UsageError(`${spec.name}: --${name} must be one of ${o.choices.join(', ')}, got "${v}"${didYouMean(v, o.choices).startsWith('; did') ? didYouMean(v, o.choices) : ''}`);
    }
  }
  const { min, max, names } = spec.positionals;
  if (parsed.positionals.length < min) {
    throw new UsageError(`${spec.name}: missing ${names.slice(parsed.positionals.length, min).join(' ')}\n${usageLine(spec)}`);
  }
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals.slice(max);
    const hint = extra[0]?.startsWith('-') ? '' : extra.length ? ` (options start with --: ${Object.keys(spec.options).map((n) => `--${n}`).join(', ')})` : '';
    throw new UsageError(`${spec.name}: unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((e) => JSON.stringify(e)).join(' ')}${hint}\n${usageLine(spec)}`);
  }
  return parsed;
}

export function usageLine(spec: CommandSpec): string {
  return `usage: mass-refund ${spec.name}${spec.args ? ` ${spec.args}` : ''}${Object.keys(spec.options).length ? ' [options]' : ''}`;
}

/** The full usage of a command: what it does, its arguments and options. */
export function usageOf(spec: CommandSpec): string {
  const lines = [usageLine(spec), '', spec.summary];
  const options = { ...spec.options, ...HELP_OPTION };
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const choices = o.choices ? ` (${o.choices.join('|')})` : '';
    return [flag, `${o.help}${choices}`] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  lines.push('', 'Options:', ...rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`));
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n');
}
