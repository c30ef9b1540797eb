import { startFauxqs } from 'fauxqs';

export interface LocalSnsSqs {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** The SNS/SQS emulator from npm (fauxqs), in this process, on 127.0.0.1. */
export async function startLocalSnsSqs(port = 0): Promise<LocalSnsSqs> {
  const server = await startFauxqs({ port, logger: false, host: '127.0.0.1' });
  return { endpoint: `http://127.0.0.1:${server.port}`, port: server.port, stop: () => server.stop() };
}
