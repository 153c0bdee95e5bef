import type { Server } from 'node:http';

/** aws-ses-v2-local inside this process, on a free loopback port (tests and the bench; `local up` runs it as a process). */
export async function startSesServer(): Promise<{ url: string; server: Server }> {
  const mod = (await import('aws-ses-v2-local')) as unknown as { default: (c: { port: number; host: string }) => Promise<Server> };
  const server = await mod.default({ port: 0, host: '127.0.0.1' });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, server };
}
