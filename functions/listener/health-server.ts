import { createServer, type Server } from 'node:http';
import type { Listener } from './listener.ts';

/**
 * 200 while connected to Postgres (as leader, standby, or waiting for the watched tables to
 * exist), 503 when disconnected or stuck: what the container health check probes.
 */
export function startHealthServer(port: number, listener: Pick<Listener, 'health'>): Promise<Server> {
  const server = createServer((_request, response) => {
    const { healthy, role, stalled } = listener.health();
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: healthy ? 'ok' : stalled ? 'stalled' : 'unavailable', role }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
