/** An HTTP answer of the sandbox, as it is sent (and recorded for an Idempotency-Key). */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function errorAnswer(status: number, code: string, message: string, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ error: { code, message } }) };
}
export function jsonAnswer(status: number, value: unknown): Answer {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}
/** What a load balancer in front of the PSP answers when the backend is out of reach: not the PSP's JSON. */
export function htmlAnswer(status: number): Answer {
  return { status, headers: { 'content-type': 'text/html' }, body: `<html><head><title>${status} Bad Gateway</title></head><body><center><h1>${status} Bad Gateway</h1></center></body></html>` };
}
/** JSON with the keys of every object sorted: the same request body gives the same text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
