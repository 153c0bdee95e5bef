/**
 * Writes docs/inputs/: the JSON Schema of each workflow's console input (from the zod schemas of
 * its first state) and an example; and docs/outcomes.md, what a run report counts (from
 * lib/core/outcomes.ts). `npm run inputs`; test/cli/inputs.test.ts and test/core/outcomes.test.ts
 * fail when they are stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderInputDocs } from '../lib/cli/inputs.ts';
import { renderOutcomeDocs } from '../lib/core/outcomes.ts';
import { PROJECT_ROOT } from '../lib/local/paths.ts';

for (const [file, text] of Object.entries({ ...(await renderInputDocs()), 'docs/outcomes.md': renderOutcomeDocs() })) {
  const full = path.join(PROJECT_ROOT, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
  process.stdout.write(`${file}\n`);
}
