import type http from 'node:http';
import * as z from 'zod';
import { errorAnswer, jsonAnswer, type Answer } from './answers.ts';
import type { SandboxCore } from './core.ts';
import { faultConfigSchema } from './faults.ts';
import { SandboxConflict } from './types.ts';

const transactionSchema = z.object({
  transactionId: z.string().regex(/^\d{18}$/, 'must be an 18-digit string'),
  amount: z.object({ amount: z.number().int().positive(), currency: z.string().regex(/^[A-Z]{3}$/) }),
  paymentMethod: z.string().optional(),
});
const registerSchema = z.object({ transactions: z.array(transactionSchema) });
const configSchema = z.object({
  rateLimitPerSecond: z.number().positive().nullable().optional(),
  keyTtlSeconds: z.number().int().min(0).optional(),
  uniqueRefno: z.boolean().optional(),
});
const clockSchema = z.object({ advanceSeconds: z.number().int().min(0) });
const adminCreditSchema = z.object({ amount: z.number().int().positive() });
const ADMIN_CREDIT_PATH = /^\/_sandbox\/transactions\/(\d{18})\/admin-credit$/;

const invalid = (error: z.ZodError | string) =>
  errorAnswer(400, 'INVALID_PROPERTY', typeof error === 'string' ? error : error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));

/** A refused registration or back-office credit is a 409; anything else stays an internal error. */
function conflictAs409(act: () => Answer): Answer {
  try {
    return act();
  } catch (err) {
    if (err instanceof SandboxConflict) return errorAnswer(409, 'CLIENT_ERROR', err.message);
    throw err;
  }
}

/** The sandbox's own API under /_sandbox/: health, transactions, ledger, faults, settings, clock, stats, reset. */
export function handleAdmin(core: SandboxCore, req: http.IncomingMessage, path: string, body: string): Answer {
  const parseBody = (): unknown => {
    try {
      return body ? JSON.parse(body) : {};
    } catch {
      return undefined;
    }
  };
  const route = `${req.method} ${path}`;
  switch (route) {
    case 'GET /_sandbox/health':
      return jsonAnswer(200, { status: 'ok', merchantId: core.merchantId, transactions: core.book.transactionCount, credits: core.book.creditCount, rateLimitPerSecond: core.rateLimit.perSecond });
    case 'POST /_sandbox/transactions': {
      const parsed = registerSchema.safeParse(parseBody());
      if (!parsed.success) return invalid(parsed.error);
      return conflictAs409(() => jsonAnswer(200, core.book.register(parsed.data.transactions)));
    }
    case 'GET /_sandbox/ledger':
      return jsonAnswer(200, { credits: core.book.ledger() });
    case 'POST /_sandbox/faults': {
      const parsed = faultConfigSchema.safeParse(parseBody());
      if (!parsed.success) return invalid(parsed.error);
      core.faults.configure(parsed.data);
      return jsonAnswer(200, { rules: parsed.data.rules.length });
    }
    case 'POST /_sandbox/config': {
      const parsed = configSchema.safeParse(parseBody());
      if (!parsed.success) return invalid(parsed.error);
      const { rateLimitPerSecond, keyTtlSeconds, uniqueRefno } = parsed.data;
      core.configure({ rateLimitPerSecond, ...(keyTtlSeconds !== undefined ? { keyTtlMs: keyTtlSeconds * 1000 } : {}), uniqueRefno });
      return jsonAnswer(200, { rateLimitPerSecond: core.rateLimit.perSecond, keyTtlSeconds: core.settings.keyTtlMs / 1000, uniqueRefno: core.settings.uniqueRefno });
    }
    case 'POST /_sandbox/clock': {
      const parsed = clockSchema.safeParse(parseBody());
      if (!parsed.success) return invalid(parsed.error);
      core.clock.advance(parsed.data.advanceSeconds * 1000);
      return jsonAnswer(200, { now: new Date(core.clock.now()).toISOString() });
    }
    case 'GET /_sandbox/stats':
      return jsonAnswer(200, core.counters.stats);
    case 'POST /_sandbox/reset':
      core.reset();
      return jsonAnswer(200, { reset: true });
    default: {
      const adminCreditMatch = req.method === 'POST' ? ADMIN_CREDIT_PATH.exec(path) : null;
      if (adminCreditMatch) {
        const parsed = adminCreditSchema.safeParse(parseBody());
        if (!parsed.success) return invalid(parsed.error);
        return conflictAs409(() => jsonAnswer(200, core.book.adminCredit(adminCreditMatch[1] as string, parsed.data.amount)));
      }
      return errorAnswer(404, 'CLIENT_ERROR', 'no such sandbox endpoint');
    }
  }
}
