import { readFileSync } from 'node:fs';
import { DynamoImportLookup, writeImport } from '../adapters/dynamodb/import-store.ts';
import { registerWithSandbox } from '../local/sandbox-registration.ts';
import { formatIssues, validateImportFile, type ImportIssue } from '../core/import.ts';
import * as runtime from '../local/runtime.ts';
import { EXIT, info, printJson, UsageError } from './io.ts';

export interface ImportOutcome {
  ok: boolean;
  issues?: ImportIssue[];
  records?: number;
  unchanged?: number;
  written?: Record<string, number>;
}

/** Validates the whole file first; writes only if every line is good. */
export async function importText(text: string, sandboxUrl = process.env.MASS_REFUND_SANDBOX_URL): Promise<ImportOutcome> {
  const validation = await validateImportFile(text, new DynamoImportLookup());
  if (!validation.ok) return { ok: false, issues: validation.issues };
  const result = await writeImport(validation.fresh);
  await registerWithSandbox(sandboxUrl, result.pspTransactions);
  return { ok: true, records: validation.records.length, unchanged: validation.unchanged, written: result.written };
}

export async function cmdImport(positional: string[], _flags: Record<string, string | true>): Promise<number> {
  const file = positional[1];
  if (!file) throw new UsageError('usage: mass-refund import FILE.jsonl');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  await runtime.attach();
  const outcome = await importText(text);
  if (!outcome.ok) {
    info(`${file}: ${outcome.issues?.length} problem(s), nothing imported:\n${formatIssues(outcome.issues ?? [])}`);
    printJson({ imported: false, issues: outcome.issues });
    return EXIT.badInput;
  }
  printJson({ imported: true, records: outcome.records, unchanged: outcome.unchanged, written: outcome.written });
  return EXIT.ok;
}
