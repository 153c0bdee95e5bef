import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { handleAdmin } from './admin.ts';
import { errorAnswer, type Answer } from './answers.ts';
import { DatatransApi } from './api.ts';
import { SandboxCore } from './core.ts';
import { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD } from './credentials.ts';
import { faultConfigSchema, type FaultKind } from './faults.ts';
import type { PspSandbox, PspSandboxOptions } from './types.ts';

/**
 * A local Datatrans JSON API (v1) for credits and status: the same wire format, Basic auth,
 * Idempotency-Key as Datatrans documents it, its own ledger, fault injection and a rate limit.
 * The parts: the API (api.ts) and the admin API (admin.ts) over the books (book.ts), the keys
 * (idempotency.ts), the transport faults (transport.ts), the clock, counters and rate limit (state.ts).
 */

export { mulberry32, type Fault, type FaultConfig, type FaultRule } from './faults.ts';
export { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD } from './credentials.ts';
export { IDEMPOTENCY_KEY_TTL_MS } from './core.ts';
export { SandboxConflict, type LedgerCredit, type PspSandbox, type PspSandboxOptions, type SandboxExchange, type SandboxSettings, type SandboxStats, type SandboxTransaction } from './types.ts';

const MAX_BODY_BYTES = 64 * 1024;
// Admin registrations carry every imported payment's transaction: allow large batches.
const MAX_ADMIN_BODY_BYTES = 32 * 1024 * 1024;

function readBody(req: http.IncomingMessage, limit: number): Promise<string | null> {
  return new Promise<string | null>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

export async function startPspSandbox(options: PspSandboxOptions = {}): Promise<PspSandbox> {
  const host = options.host ?? '127.0.0.1';
  const merchantId = options.merchantId ?? SANDBOX_MERCHANT_ID;
  const expectedAuth = Buffer.from(`Basic ${Buffer.from(`${merchantId}:${options.password ?? SANDBOX_PASSWORD}`).toString('base64')}`);
  const core = new SandboxCore(merchantId, options);
  const api = new DatatransApi(core, expectedAuth);

  // Sockets, so stop() ends everything at once.
  const sockets = new Set<Socket>();
  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readBody(req, path.startsWith('/_sandbox/') ? MAX_ADMIN_BODY_BYTES : MAX_BODY_BYTES);
    let answer: Answer | null;
    const ctx: { fault?: FaultKind } = {};
    try {
      if (body === null) answer = errorAnswer(400, 'CLIENT_ERROR', 'request body too large or unreadable');
      else if (path.startsWith('/_sandbox/')) answer = handleAdmin(core, req, path, body);
      else answer = await api.handle(req, res, path, body, ctx);
    } catch {
      answer = errorAnswer(500, 'SERVER_ERROR', 'sandbox internal error');
    }
    options.onExchange?.({ method: req.method ?? '', path, headers: req.headers, body: body ?? '', response: answer, ...(ctx.fault ? { fault: ctx.fault } : {}) });
    if (answer === null || res.destroyed || res.socket === null) return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        core.transport.stop();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
    registerTransactions: (list) => core.book.register(list),
    configureFaults: (config) => core.faults.configure(faultConfigSchema.parse(config)),
    setRateLimit: (perSecond) => core.rateLimit.set(perSecond),
    configure: (settings) => core.configure(settings),
    advanceClock: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the sandbox clock only moves forward');
      core.clock.advance(ms);
    },
    adminCredit: (transactionId, amount) => core.book.adminCredit(transactionId, amount),
    ledger: () => core.book.ledger(),
    stats: () => structuredClone(core.counters.stats),
    reset: () => core.reset(),
  };
}
