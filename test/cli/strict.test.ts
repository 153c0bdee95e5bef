import { describe, expect, it } from 'vitest';
import { nearest } from '../../lib/cli/args.ts';
import { COMMANDS } from '../../lib/cli/main.ts';
import { cli } from '../support/cli.ts';

/** Everything here fails or answers before any stack is looked up: no runtime needed, nothing written. */
describe('a strict command line', () => {
  it.each([
    [['strat'], 'unknown command "strat"; did you mean start?'],
    [['exprt', 'refunds'], 'unknown command "exprt"; did you mean export?'],
    [['--target', 'aws'], 'unknown option --target (options come after the command)'],
    [['start', 'CancelPerformance', '--imput', '{}'], 'unknown option --imput; did you mean --input?'],
    [['start', 'ReconcileRefunds', '--traget', 'aws'], 'unknown option --traget; did you mean --target?'],
    [['start', 'ReconcileRefunds', '--no-wiat'], 'did you mean --no-wait?'],
    [['start', 'ReconcileRefunds', '--target', 'mars'], '--target must be one of local, aws, got "mars"'],
    [['start', 'ReconcileRefunds', '--input'], 'option --input needs a value (JSON)'],
    [['start', 'ReconcileRefunds', '--no-wait=yes'], 'option --no-wait takes no value'],
    [['start', 'CancelPerformence', '--input', '{}'], 'unknown workflow "CancelPerformence"; did you mean CancelPerformance?'],
    [['start'], 'start: missing WORKFLOW'],
    [['start', 'WriteOff', 'extra'], 'unexpected argument "extra"'],
    [['status'], 'status: missing RUN_ID'],
    [['export', 'refundz'], 'unknown KIND "refundz"; did you mean refunds?'],
    [['export', 'refunds', '--format', 'xlsx'], '--format must be one of jsonl, csv'],
    [['export', 'refunds', '--bom'], '--bom applies to --format csv only'],
    [['approve', 'sim-1', '--pass', 'card'], '--pass must be one of psp, credit'],
    [['local', 'stauts'], 'local: unknown subcommand "stauts"; did you mean status?'],
    [['local', 'up', '--target', 'aws'], 'unknown option --target'],
    [['stats', 'write-off'], 'did you mean write-offs?'],
    [['start', 'WriteOff', '--input', '{bad json'], 'not valid JSON'],
    [['start', 'WriteOff', '--input', '{}', '--input-file', 'x.json'], 'give --input or --input-file, not both'],
    [['start', 'WriteOff', '--schedule', 'nightly'], '--schedule applies to DispatchRefunds only'],
  ])('mass-refund %j exits 2 saying: %s', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('exits 2 without a command, printing the usage', async () => {
    const run = await cli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: mass-refund COMMAND');
  });

  it.each([['--help'], ['-h'], ['help']])('mass-refund %s prints the usage on stdout and exits 0', async (flag) => {
    const run = await cli([flag]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: mass-refund COMMAND');
    for (const command of Object.keys(COMMANDS)) expect(run.stdout).toContain(`  ${command} `);
  });

  it.each(Object.keys(COMMANDS).flatMap((c) => [[c, '--help'], [c, '-h']]))('mass-refund %s %s prints that command\'s usage and exits 0', async (command, flag) => {
    const run = await cli(command === 'start' || command === 'local' ? [command, flag] : [command, 'ARG', '--bogus', flag]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`usage: mass-refund ${command}`);
    expect(run.stdout).toContain('-h, --help');
  });

  it('start WORKFLOW --help lists the workflow\'s input fields from its zod schema', async () => {
    const run = await cli(['start', 'DispatchRefunds', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\s+mode\s+simulate\|psp\|credit\s+optional\s+.*required unless schedule is given/m);
    expect(run.stdout).toMatch(/^\s+creditPolicy\s+fallback\|always\|never\s+optional/m);
    expect(run.stdout).toMatch(/^\s+simulationRunId\s+string\s+optional/m);
    expect(run.stdout).toContain('JSON Schema: docs/inputs/DispatchRefunds.schema.json');
    const partial = await cli(['start', 'PartialRefund', '-h']);
    expect(partial.stdout).toMatch(/^\s+percent\s+number\|string\s+required\s+the refunded share/m);
  });

  it('suggests only what is close enough to be a typo', () => {
    expect(nearest('--traget', ['--target', '--stack'])).toBe('--target');
    expect(nearest('xyz', ['start', 'status'])).toBeUndefined();
    expect(nearest('STATUS', ['start', 'status'])).toBe('status');
  });
});
