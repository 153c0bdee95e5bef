/**
 * npm run emails:render [-- --out DIR] [--only de,fr] [--docs | --docs-only]
 *
 * Renders every email kind in every language (lib/core/emails/samples.ts) as a person sees it:
 * the HTML in headless Chromium (Debian's `chromium`) to PNG, the text beside it, into
 * .local/emails/ (or --out). --docs also copies the handful the README shows to docs/emails/;
 * --docs-only renders just those.
 * Each email is measured first (its height), then shot at that height, 680 px wide.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { forEachConcurrently } from '../lib/core/concurrency.ts';
import { emailSamples } from '../lib/core/emails/samples.ts';
import { EMAIL_LANGUAGES, renderRefundEmail, type EmailLanguage } from '../lib/core/refund-emails.ts';
import { PROJECT_ROOT } from '../lib/local/paths.ts';

const run = promisify(execFile);
const WIDTH = 680;

/** What the README shows (committed to docs/emails/). */
export const DOCS_SELECTION = ['de-refunded_to_card', 'fr-credited', 'it-late_failure-never', 'es-cancellation_notice', 'en-returned_to_account'];

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars', '--force-device-scale-factor=1'];

async function chromium(args: string[]): Promise<string> {
  const profile = mkdtempSync(path.join(tmpdir(), 'emails-chromium-'));
  try {
    const { stdout } = await run(process.env.CHROMIUM ?? 'chromium', [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args], { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The page's height at this width: a script writes it into the DOM that --dump-dom prints. */
async function heightOf(file: string): Promise<number> {
  const probe = file.replace(/\.html$/, '.probe.html');
  const measure = `<script>addEventListener('load',()=>{const m=document.createElement('meta');m.name='rendered-height';m.content=String(document.documentElement.scrollHeight);document.head.appendChild(m)})</script>`;
  const { readFileSync } = await import('node:fs');
  writeFileSync(probe, readFileSync(file, 'utf8').replace('</head>', `${measure}</head>`));
  try {
    const dom = await chromium([`--window-size=${WIDTH},800`, '--dump-dom', pathToFileURL(probe).href]);
    const height = Number(/name="rendered-height" content="(\d+)"/.exec(dom)?.[1]);
    return Number.isFinite(height) && height > 0 ? height : 1400;
  } finally {
    rmSync(probe, { force: true });
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = path.resolve(flag('--out') ?? path.join(PROJECT_ROOT, '.local', 'emails'));
  const only = flag('--only')?.split(',') as EmailLanguage[] | undefined;
  const languages = EMAIL_LANGUAGES.filter((l) => !only || only.includes(l));
  mkdirSync(out, { recursive: true });

  const docsOnly = args.includes('--docs-only');
  const jobs = languages
    .flatMap((lang) => emailSamples(lang).map((sample) => ({ lang, sample, name: `${lang}-${sample.id}` })))
    .filter((job) => !docsOnly || DOCS_SELECTION.includes(job.name));
  const started = Date.now();
  await forEachConcurrently(jobs, 2, async ({ lang, sample, name }) => {
    const email = renderRefundEmail(sample.input);
    const html = path.join(out, `${name}.html`);
    writeFileSync(html, email.html);
    writeFileSync(path.join(out, `${name}.txt`), `Subject: ${email.subject}\n\n${email.text}\n`);
    const height = await heightOf(html);
    await chromium([`--window-size=${WIDTH},${height}`, `--screenshot=${path.join(out, `${name}.png`)}`, pathToFileURL(html).href]);
    console.error(`${name}.png  ${WIDTH}x${height}  (${lang}) ${email.subject}`);
  });
  console.error(`${jobs.length} emails rendered to ${path.relative(PROJECT_ROOT, out) || out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  if (args.includes('--docs') || docsOnly) {
    const docs = path.join(PROJECT_ROOT, 'docs', 'emails');
    mkdirSync(docs, { recursive: true });
    for (const name of DOCS_SELECTION) copyFileSync(path.join(out, `${name}.png`), path.join(docs, `${name}.png`));
    console.error(`copied ${DOCS_SELECTION.length} to docs/emails/`);
  }
  return 0;
}

process.exitCode = await main();
