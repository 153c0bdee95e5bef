/**
 * A local stand-in for the Secrets Manager actions the stages use (GetSecretValue, and
 * PutSecretValue to rotate a value), on the service's own JSON protocol, so the deployed code
 * path (Powertools Parameters -> @aws-sdk/client-secrets-manager) runs locally unchanged:
 * containers find it through AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalSecret {
  /** The ids a caller may use: the template's logical id (what Ref resolves to locally), name, ARN. */
  ids: string[];
  value: string;
}

export interface LocalSecretsManager {
  url: string;
  put(id: string, value: string): void;
  /** GetSecretValue calls served, by secret id. */
  reads(id: string): number;
  stop(): Promise<void>;
}

interface Stored {
  ids: string[];
  value: string;
  versionId: string;
  createdDate: number;
  reads: number;
}

export async function startLocalSecretsManager(secrets: LocalSecret[]): Promise<LocalSecretsManager> {
  const stored: Stored[] = secrets.map((s) => ({ ids: s.ids, value: s.value, versionId: randomUUID(), createdDate: Date.now() / 1000, reads: 0 }));
  const find = (id: unknown) => stored.find((s) => typeof id === 'string' && s.ids.includes(id));
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      let body: { SecretId?: unknown; SecretString?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as typeof body;
      } catch {
        answer(400, { __type: 'InvalidRequestException', message: 'body is not JSON' });
        return;
      }
      const secret = find(body.SecretId);
      if (!secret) {
        answer(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        return;
      }
      const arn = secret.ids.find((i) => i.startsWith('arn:')) ?? `arn:aws:secretsmanager:local:000000000000:secret:${secret.ids[0]}`;
      if (target === 'secretsmanager.GetSecretValue') {
        secret.reads++;
        answer(200, { ARN: arn, Name: secret.ids[0], SecretString: secret.value, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'], CreatedDate: secret.createdDate });
      } else if (target === 'secretsmanager.PutSecretValue' && typeof body.SecretString === 'string') {
        Object.assign(secret, { value: body.SecretString, versionId: randomUUID(), createdDate: Date.now() / 1000 });
        answer(200, { ARN: arn, Name: secret.ids[0], VersionId: secret.versionId, VersionStages: ['AWSCURRENT'] });
      } else {
        answer(400, { __type: 'InvalidRequestException', message: `${target || 'this action'} is not emulated locally` });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    put(id, value) {
      const secret = find(id);
      if (!secret) throw new Error(`no local secret ${id}`);
      Object.assign(secret, { value, versionId: randomUUID(), createdDate: Date.now() / 1000 });
    },
    reads: (id) => find(id)?.reads ?? 0,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
