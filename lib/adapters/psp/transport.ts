import http from 'node:http';
import https from 'node:https';
import { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';

/**
 * One HTTP exchange with the PSP, with network failures split by what matters for money:
 * `not_sent` (the PSP cannot have acted: safe to send again) versus `no_answer` (the request
 * may have reached the PSP: the outcome is unknown).
 */
export interface HttpExchangeRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export type HttpExchangeResult =
  | { kind: 'response'; status: number; headers: Record<string, string | undefined>; body: string }
  | { kind: 'not_sent'; reason: string }
  | { kind: 'no_answer'; reason: string };

export type HttpTransport = (req: HttpExchangeRequest) => Promise<HttpExchangeResult>;

/** Errors raised before a connection exists: the request cannot have left this machine. */
const BEFORE_CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'ERR_INVALID_URL']);

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/**
 * Transport over node:http(s). A request counts as sent once its connection is established
 * (TLS handshake done for https): any failure after that is `no_answer`, even if the bytes may
 * not all have left, because the PSP could have read enough to act.
 */
export function nodeHttpTransport(options: { keepAlive?: boolean } = {}): HttpTransport {
  // Free sockets are closed after 1 s, well below usual server keep-alive time-outs, so a reused
  // socket is practically never one the server is closing (that race would look like `no_answer`).
  const httpAgent = new http.Agent({ keepAlive: options.keepAlive ?? true, timeout: 1000, maxSockets: 256 });
  const httpsAgent = new https.Agent({ keepAlive: options.keepAlive ?? true, timeout: 1000, maxSockets: 256 });
  return (req) =>
    new Promise<HttpExchangeResult>((resolve) => {
      let connected = false;
      let settled = false;
      const finish = (r: HttpExchangeResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        finish({ kind: 'not_sent', reason: 'invalid PSP URL' });
        return;
      }
      const isHttps = url.protocol === 'https:';
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
      const clientReq = (isHttps ? https : http).request(url, { method: req.method, headers, agent: isHttps ? httpsAgent : httpAgent });
      const timer = setTimeout(() => {
        const reason = connected ? `no answer within ${req.timeoutMs} ms after the request was sent` : `could not connect within ${req.timeoutMs} ms`;
        finish(connected ? { kind: 'no_answer', reason } : { kind: 'not_sent', reason });
        clientReq.destroy(new Error('PSP request timed out'));
      }, req.timeoutMs);
      clientReq.on('socket', (socket: Socket) => {
        const readyEvent = socket instanceof TLSSocket ? 'secureConnect' : 'connect';
        if (!socket.connecting && (!(socket instanceof TLSSocket) || socket.encrypted)) connected = true;
        else socket.once(readyEvent, () => (connected = true));
      });
      clientReq.on('error', (err) => {
        const code = errorCode(err);
        if (!connected || BEFORE_CONNECT_CODES.has(code)) finish({ kind: 'not_sent', reason: `network error before sending (${code})` });
        else finish({ kind: 'no_answer', reason: `connection lost after sending (${code})` });
      });
      clientReq.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish({ kind: 'no_answer', reason: `connection lost while reading the answer (${errorCode(err)})` }));
        res.on('aborted', () => finish({ kind: 'no_answer', reason: 'connection lost while reading the answer' }));
        res.on('end', () => {
          if (!res.complete) {
            finish({ kind: 'no_answer', reason: 'answer cut short' });
            return;
          }
          const h: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(res.headers)) h[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
          finish({ kind: 'response', status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      clientReq.end(req.body);
    });
}

/**
 * Transport over a fetch implementation (global fetch or a test double). fetch hides when the
 * request was written, so only errors that certainly precede the connection count as not sent.
 */
export function fetchTransport(fetchImpl: typeof fetch): HttpTransport {
  return async (req) => {
    try {
      const init: RequestInit = { method: req.method, headers: req.headers, signal: AbortSignal.timeout(req.timeoutMs) };
      if (req.body !== undefined) init.body = req.body;
      const res = await fetchImpl(req.url, init);
      const body = await res.text();
      const headers: Record<string, string | undefined> = {};
      res.headers.forEach((v, k) => {
        headers[k.toLowerCase()] = v;
      });
      return { kind: 'response', status: res.status, headers, body };
    } catch (err) {
      const code = errorCode(err);
      if (BEFORE_CONNECT_CODES.has(code)) return { kind: 'not_sent', reason: `network error before sending (${code})` };
      const name = (err as { name?: string } | null)?.name;
      return { kind: 'no_answer', reason: name === 'TimeoutError' ? `no answer within ${req.timeoutMs} ms` : `connection lost (${code})` };
    }
  };
}
