import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/local/paths.ts';

/**
 * Error names are matched by Step Functions (Retry/Catch), the CLI and run reports, and the deployed
 * bundles are minified: every error class must name itself with a string literal, never take the
 * name of its class. (test/local/bundle-errors.test.ts proves it on the bundles themselves.)
 */
function sources(dir: string): string[] {
  return readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(PROJECT_ROOT, path.join(e.parentPath, e.name)));
}

/** `class X extends Y {…}` with its body, for every class that extends an error class. */
function errorClasses(file: string): { file: string; name: string; body: string }[] {
  const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
  const found: { file: string; name: string; body: string }[] = [];
  for (const match of text.matchAll(/^export (?:abstract )?class (\w+) extends (\w+) \{/gm)) {
    const [, name, base] = match as unknown as [string, string, string];
    if (!/Error$|Conflict$|Crash$/.test(base) && !/Error$/.test(name)) continue;
    const start = (match.index ?? 0) + match[0].length;
    const end = text.indexOf('\n}', start);
    found.push({ file, name, body: text.slice(start, end) });
  }
  return found;
}

describe('error names', () => {
  const classes = ['lib', 'functions', 'infra'].flatMap(sources).flatMap(errorClasses);

  it('finds the error classes (the scan works)', () => {
    expect(classes.map((c) => c.name)).toEqual(expect.arrayContaining(['ValidationError', 'TransientStoreError', 'PspConfigurationError', 'InjectedCrash']));
  });

  it('every error class names itself with a string literal', () => {
    // LambdaFunctionError carries the errorType of another function's error (the runner's transport);
    // ExecutionLimitError and StartExecutionError carry Step Functions' own names (the emulator's, never a bundle's).
    const transports = ['DomainError', 'LambdaFunctionError', 'ExecutionLimitError', 'StartExecutionError'];
    const unnamed = classes
      .filter((c) => !transports.includes(c.name))
      .filter((c) => !/(?:readonly name(?:: string)?|this\.name) = '\w+(?:\.\w+)?'/.test(c.body))
      .map((c) => `${c.file}: ${c.name}`);
    expect(unnamed).toEqual([]);
  });

  it('no error takes its name from its class', () => {
    const derived = ['lib', 'functions', 'infra'].flatMap(sources).filter((f) => /new\.target\.name|this\.constructor\.name/.test(readFileSync(path.join(PROJECT_ROOT, f), 'utf8')));
    expect(derived).toEqual([]);
  });
});
