import { readFileSync } from 'node:fs';
import { DynamoImportLookup, writeImport } from '../adapters/dynamodb/import-store.ts';
import { registerWithSandbox } from '../local/sandbox-registration.ts';
import { formatIssues, validateImportFile, type ImportIssue } from '../core/import.ts';
import { formatCount } from './format.ts';
import { EXIT, info, printJson, UsageError, wantsText, type Io } from './io.ts';

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

/** `import FILE.jsonl`: the whole file validated first; any bad line, exit 2 and nothing written. */
export async function cmdImport(io: Io, file: string, flags: { json?: boolean; pretty?: boolean }): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const outcome = await importText(text);
  if (!outcome.ok) {
    info(io, `${file}: ${outcome.issues?.length} problem(s), nothing imported:\n${formatIssues(outcome.issues ?? [])}`);
    printJson(io, { imported: false, issues: outcome.issues });
    return EXIT.badInput;
  }
  const result = { imported: true, records: outcome.records, unchanged: outcome.unchanged, written: outcome.written };
  if (wantsText(io, flags)) {
    const written = Object.entries(outcome.written ?? {}).map(([type, n]) => `${formatCount(n)} ${type}`).join(', ');
    io.stdout.write(`${file}: ${formatCount(outcome.records ?? 0)} record(s) valid; written: ${written || 'nothing new'}; unchanged: ${formatCount(outcome.unchanged ?? 0)}\n`);
  } else printJson(io, result);
  return EXIT.ok;
}
