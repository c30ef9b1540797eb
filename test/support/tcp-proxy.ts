import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay to a local endpoint that a test can cut (connections refused, open ones reset)
 * and restore: "the network to AWS is down" without touching the emulator.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  /** Random delay (0..jitterMs) added to each request chunk: concurrent calls finish out of order. */
  jitterMs = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      upstream.pipe(client);
      let forwarded = Promise.resolve();
      client.on('data', (chunk) => {
        const delay = this.jitterMs ? Math.random() * this.jitterMs : 0;
        forwarded = forwarded
          .then(() => (delay ? new Promise((resolve) => setTimeout(resolve, delay)) : undefined))
          .then(() => void upstream.write(chunk));
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async restore(): Promise<void> {
    await this.start();
  }
}
