import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface SesQuota {
  /** Sends accepted per second (SES's maximum send rate); undefined: no limit. */
  maxSendRate?: number;
  /** Sends accepted from now on (SES's 24-hour quota); undefined: no limit. */
  max24HourSend?: number;
}

export interface LocalSesServer {
  url: string;
  server: Server;
  /** Times (performance.now(), ms) at which a send was accepted, in order. */
  accepted: number[];
  /** Sends answered with a throttling error. */
  throttled(): number;
  /** Emulates an account's SES quota from now on (as AWS answers: 400 Throttling). */
  setQuota(quota: SesQuota): void;
  /** The next `n` sends are taken (stored) but their answer is lost: the connection drops. */
  loseAnswers(n: number): void;
}

/**
 * aws-ses-v2-local inside this process, on a free loopback port (tests and the bench; `local up`
 * runs it as a process), optionally answering like an account's SES quota: over the sending
 * rate (a token bucket holding one second of sends, as SES allows short bursts) or the 24-hour
 * quota, a send is refused with SES's own Throttling error and is not stored.
 */
export async function startSesServer(quota: SesQuota = {}): Promise<LocalSesServer> {
  const mod = (await import('aws-ses-v2-local')) as unknown as { default: (c: { port: number; host: string }) => Promise<Server> };
  const server = await mod.default({ port: 0, host: '127.0.0.1' });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  let limits: SesQuota = quota;
  let tokens = quota.maxSendRate ?? 0;
  let refilledAt = performance.now();
  let throttled = 0;
  let sentUnderQuota = 0;
  let answersToLose = 0;
  const accepted: number[] = [];

  // The library's own request handler, called for every request the quota lets through.
  const inner = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const refuse = (res: ServerResponse, message: string) => {
    throttled++;
    res.writeHead(400, { 'Content-Type': 'text/xml' });
    res.end(
      `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // SendEmail (v1: POST / with Action=SendEmail; v2: POST /v2/email/outbound-emails).
    const isSend = req.method === 'POST' && (req.url === '/' || req.url?.startsWith('/v2/email/outbound-emails'));
    if (isSend) {
      const now = performance.now();
      if (limits.max24HourSend !== undefined && sentUnderQuota >= limits.max24HourSend) return refuse(res, 'Daily message quota exceeded.');
      if (limits.maxSendRate !== undefined) {
        tokens = Math.min(limits.maxSendRate, tokens + ((now - refilledAt) / 1000) * limits.maxSendRate);
        refilledAt = now;
        if (tokens < 1) return refuse(res, 'Maximum sending rate exceeded.');
        tokens -= 1;
      }
      if (answersToLose > 0) {
        answersToLose--;
        // The library stores the email, then answers: drop the connection instead of the answer.
        res.end = (() => {
          accepted.push(now);
          req.socket.destroy();
          return res;
        }) as typeof res.end;
      }
      res.on('finish', () => {
        if (res.statusCode !== 200) return;
        accepted.push(now);
        sentUnderQuota++;
      });
    }
    for (const handler of inner) handler.call(server, req, res);
  });

  return {
    url: `http://127.0.0.1:${port}`,
    server,
    accepted,
    throttled: () => throttled,
    loseAnswers(n) {
      answersToLose = n;
    },
    setQuota(next) {
      limits = next;
      sentUnderQuota = 0;
      tokens = next.maxSendRate ?? 0;
      refilledAt = performance.now();
    },
  };
}
