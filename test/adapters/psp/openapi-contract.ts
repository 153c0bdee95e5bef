import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { SandboxExchange } from '../../../lib/local/psp-sandbox/index.ts';

/**
 * Validates HTTP exchanges against Datatrans' own OpenAPI description (spec/ in the repo, a copy
 * of ../shared/specs): nothing here restates a schema by hand, everything is read from the spec.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SPEC_PATH = path.join(repoRoot, 'spec/datatrans-openapi-2.0.45.json');

interface Operation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: { type?: string; format?: string } }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }>;
  security?: Array<Record<string, unknown>>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }>; securitySchemes: Record<string, { type: string; scheme?: string }> };
}

export const spec: Spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8'));
// `json-bigint`-free JS cannot hold int64 ids: the contract is checked on the wire text instead.
const INT64_MAX = 9223372036854775807n;

const ajv = new Ajv({ strict: false, allErrors: true });
(addFormatsModule as unknown as (a: Ajv) => void)(ajv);
for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password']) ajv.addFormat(f, true);
ajv.addSchema({ components: spec.components }, 'datatrans');

const validators = new Map<string, ValidateFunction>();
function validatorFor(ref: string): ValidateFunction {
  let v = validators.get(ref);
  if (!v) {
    v = ajv.getSchema(`datatrans${ref}`);
    if (!v) throw new Error(`schema ${ref} not found in the spec`);
    validators.set(ref, v);
  }
  return v;
}

export function schemaErrors(ref: string, value: unknown): string[] {
  const v = validatorFor(ref);
  return v(value) ? [] : (v.errors ?? []).map((e) => `${ref} ${e.instancePath || '(root)'} ${e.message ?? ''}`);
}

const operations = Object.entries(spec.paths).flatMap(([template, methods]) =>
  Object.entries(methods).map(([method, op]) => ({
    method: method.toUpperCase(),
    template,
    op,
    regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, '([^/]+)')}$`),
    names: [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string),
  })),
);

function findOperation(method: string, urlPath: string) {
  // Literal segments win over templates (/v1/transactions/secureFields vs /v1/transactions/{id}).
  const matches = operations.filter((o) => o.method === method && o.regex.test(urlPath));
  matches.sort((a, b) => a.names.length - b.names.length);
  return matches[0];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Problems with a request as sent on the wire (method, path, headers, raw body). */
export function requestProblems(method: string, urlPath: string, headers: Record<string, string | string[] | undefined>, body: string): string[] {
  const found = findOperation(method, urlPath);
  if (!found) return [`${method} ${urlPath}: no such operation in the spec`];
  const problems: string[] = [];
  const values = found.regex.exec(urlPath)!.slice(1);
  for (const p of found.op.parameters ?? []) {
    if (p.in !== 'path') continue;
    const value = values[found.names.indexOf(p.name)] ?? '';
    if (p.schema?.type === 'integer') {
      // int64 on the wire: an integer literal within range; Datatrans ids have 18 digits.
      if (!/^\d{18}$/.test(value) || BigInt(value) > INT64_MAX) problems.push(`path ${p.name}=${value} is not an 18-digit int64`);
    }
  }
  if (found.op.security?.some((s) => 'Basic' in s)) {
    const auth = headers.authorization;
    if (typeof auth !== 'string' || !/^Basic [A-Za-z0-9+/]+=*$/.test(auth)) problems.push('missing Basic Authorization header');
  }
  const key = headers['idempotency-key'];
  if (key !== undefined && (typeof key !== 'string' || !UUID.test(key))) problems.push('Idempotency-Key is not a UUID');
  if (found.op.requestBody) {
    const media = found.op.requestBody.content['application/json'];
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/json')) problems.push('Content-Type is not application/json');
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return [...problems, 'request body is not JSON'];
    }
    if (media) {
      const ref = media.schema.$ref;
      problems.push(...schemaErrors(ref, json));
      // The spec does not forbid extra properties, but Datatrans answers UNRECOGNIZED_PROPERTY: check them too.
      const name = ref.split('/').pop() as string;
      const known = Object.keys(spec.components.schemas[name]?.properties ?? {});
      for (const k of Object.keys(json as object)) if (!known.includes(k)) problems.push(`request property ${k} is not in ${name}`);
    }
  }
  return problems;
}

/** Problems with an answer: the documented schema for its status, else the documented error format. */
export function responseProblems(method: string, urlPath: string, status: number, body: string): string[] {
  const found = findOperation(method, urlPath);
  if (!found) return [`${method} ${urlPath}: no such operation in the spec`];
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return [`${method} ${urlPath} ${status}: answer is not JSON`];
  }
  const documented = found.op.responses[String(status)]?.content?.['application/json']?.schema.$ref;
  const ref = documented ?? '#/components/schemas/TransactionsResponseBase';
  const problems = schemaErrors(ref, json);
  if (!documented && !(json && typeof json === 'object' && 'error' in json)) problems.push(`${status} answer without {error}`);
  return problems;
}

/** Problems with one exchange seen by the sandbox (malformed-JSON faults are meant to break the contract). */
export function exchangeProblems(e: SandboxExchange): string[] {
  if (e.path.startsWith('/_sandbox/')) return [];
  const problems = requestProblems(e.method, e.path, e.headers, e.body);
  if (e.response) problems.push(...responseProblems(e.method, e.path, e.response.status, e.response.body));
  return problems;
}
