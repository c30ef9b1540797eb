import { createServer, type Server } from 'node:http';
import type { ListenerRole } from './listener.ts';

/**
 * 200 while connected to Postgres (as leader or standby), 503 otherwise: what the container
 * health check and load balancers probe.
 */
export function startHealthServer(port: number, role: () => ListenerRole): Promise<Server> {
  const server = createServer((request, response) => {
    const current = role();
    const healthy = current === 'leader' || current === 'standby';
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: healthy ? 'ok' : 'unavailable', role: current }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
