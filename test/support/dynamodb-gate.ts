import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One DynamoDB request as the gate sees it: the operation (X-Amz-Target) and the JSON body. */
export interface GateRequest {
  operation: string;
  body: Record<string, unknown>;
}

/**
 * A pass-through HTTP proxy in front of DynamoDB Local that a test can close: requests matching a
 * predicate are held (the handler waits, as a Lambda waits on a slow or stuck call) until the
 * test releases them. Everything else passes through untouched. Deterministic stalls without
 * timers: an execution held here reaches its TimeoutSeconds, or can be stopped, at a known point.
 */
export class DynamoDbGate {
  readonly #server: Server;
  readonly #target: URL;
  #holding: ((r: GateRequest) => boolean) | undefined;
  readonly #held: (() => void)[] = [];
  readonly #answered: Promise<void>[] = [];
  #onHeld: (() => void)[] = [];

  private constructor(server: Server, target: URL) {
    this.#server = server;
    this.#target = target;
  }

  static async start(dynamodbUrl: string): Promise<DynamoDbGate> {
    let gate!: DynamoDbGate;
    const server = createServer((req, res) => void gate.#handle(req, res));
    gate = new DynamoDbGate(server, new URL(dynamodbUrl));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return gate;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** From now on, hold every request that matches. */
  hold(predicate: (r: GateRequest) => boolean): void {
    this.#holding = predicate;
  }

  /** Resolves once at least `n` requests are being held. */
  async held(n = 1): Promise<void> {
    while (this.#held.length < n) await new Promise<void>((resolve) => this.#onHeld.push(resolve));
  }

  /** Stops holding, lets the held requests through and resolves when DynamoDB answered them all. */
  async release(): Promise<void> {
    this.#holding = undefined;
    for (const go of this.#held.splice(0)) go();
    await Promise.all(this.#answered.splice(0));
  }

  async stop(): Promise<void> {
    await this.release();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      // not JSON: passed on as is
    }
    let answered: (() => void) | undefined;
    if (this.#holding?.({ operation, body })) {
      this.#answered.push(new Promise<void>((resolve) => (answered = resolve)));
      await new Promise<void>((resolve) => {
        this.#held.push(resolve);
        for (const wake of this.#onHeld.splice(0)) wake();
      });
    }
    const forwarded = httpRequest(
      { host: this.#target.hostname, port: this.#target.port, path: req.url, method: req.method, headers: { ...req.headers, host: this.#target.host } },
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
        upstream.on('end', () => answered?.());
      },
    );
    forwarded.on('error', (error) => {
      res.writeHead(502).end(String(error));
      answered?.();
    });
    forwarded.end(raw);
  }
}

/** A run-log write of a paged workflow's page (`RUN#<run>` / `LOG#shard…`): the last thing a page does. */
export function isPageLogWrite(runId: string): (r: GateRequest) => boolean {
  return ({ operation, body }) => {
    const item = body['Item'] as Record<string, { S?: string }> | undefined;
    return operation === 'PutItem' && item?.['pk']?.S === `RUN#${runId}` && (item['sk']?.S ?? '').startsWith('LOG#shard');
  };
}
