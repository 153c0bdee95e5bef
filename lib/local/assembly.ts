/**
 * Finds the deployed artifact of each Lambda function in a cloud assembly (the `cdk synth`
 * output): the function's Code names an asset by its hash (`<hash>.zip`), the assembly's asset
 * manifest says which directory holds that asset, and the Handler property (`index.handler`) says
 * which module of it to load and which export to call, exactly what `cdk deploy` uploads and what
 * the Lambda runtime loads.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { LocalFunction } from './template.ts';

export interface FunctionBundle {
  /** The asset directory (Lambda's /var/task). */
  dir: string;
  /** The module file the Handler names (index.js for `index.handler`). */
  file: string;
  /** The export the Handler names. */
  exportName: string;
}

/** The template has no bundles the runner can load (e.g. synthesized with bundling skipped). */
export class AssemblyError extends Error {
  override readonly name: string = 'AssemblyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

interface AssetManifest {
  files?: Record<string, { source?: { path?: string; packaging?: string } }>;
}

/** The asset manifest of a stack's template: `<Stack>.assets.json` next to `<Stack>.template.json`. */
function assetManifest(templatePath: string): AssetManifest {
  const manifestPath = templatePath.replace(/\.template\.json$/, '.assets.json');
  if (!existsSync(manifestPath)) throw new AssemblyError(`no asset manifest next to ${templatePath} (expected ${path.basename(manifestPath)})`);
  return JSON.parse(readFileSync(manifestPath, 'utf8')) as AssetManifest;
}

/**
 * The bundle of every function, by logical id. Lambda resolves `index.handler` to index.js,
 * index.mjs or index.cjs in the task root; NodejsFunction writes index.js (CommonJS) or index.mjs.
 */
export function functionBundles(templatePath: string, functions: LocalFunction[]): Map<string, FunctionBundle> {
  const manifest = assetManifest(templatePath);
  const assemblyDir = path.dirname(templatePath);
  const bundles = new Map<string, FunctionBundle>();
  for (const fn of functions) {
    const hash = fn.codeS3Key?.replace(/\.zip$/, '');
    const source = hash === undefined ? undefined : manifest.files?.[hash]?.source;
    if (hash === undefined || source?.path === undefined) {
      throw new AssemblyError(`${fn.logicalId}: its Code names no file asset of the assembly (S3Key ${fn.codeS3Key ?? 'missing'})`);
    }
    const dir = path.resolve(assemblyDir, source.path);
    const dot = fn.handlerProperty.lastIndexOf('.');
    const moduleName = fn.handlerProperty.slice(0, dot);
    const exportName = fn.handlerProperty.slice(dot + 1);
    const file = ['.js', '.mjs', '.cjs'].map((ext) => path.join(dir, moduleName + ext)).find((f) => existsSync(f));
    if (file === undefined) {
      throw new AssemblyError(
        `${fn.logicalId} (${fn.entry}): asset ${path.relative(assemblyDir, dir)} has no ${moduleName}.js; was the stack synthesized with bundling skipped?`,
      );
    }
    bundles.set(fn.logicalId, { dir, file, exportName });
  }
  return bundles;
}

/**
 * A Lambda task root has no package.json above it, so its .js files are CommonJS; an assembly
 * inside this project would otherwise inherit the project's `"type": "module"`.
 */
export function markAssemblyCommonJs(assemblyDir: string): void {
  const file = path.join(assemblyDir, 'package.json');
  const content = '{ "type": "commonjs" }\n';
  if (!existsSync(file) || readFileSync(file, 'utf8') !== content) writeFileSync(file, content);
}
