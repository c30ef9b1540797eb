import { Writable } from 'node:stream';
import { parseConfig, type PgBridgeConfig } from '../../lib/config/watch-config.ts';
import { createLogger } from '../../lib/logger.ts';
import { createSink } from '../../lib/sinks/create-sink.ts';
import { Listener, type ListenerOptions } from '../../functions/listener/listener.ts';

/** Every log line of the listeners a test started, parsed: for assertions on what was logged. */
export const capturedLogs: any[] = [];

export function captureLogger(name = 'test-listener') {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) capturedLogs.push(JSON.parse(line));
      done();
    },
  });
  return createLogger(name, { level: 'debug', destination });
}

export interface TestListenerOptions extends Partial<ListenerOptions> {
  databaseUrl: string;
  endpoint: string;
  topicArn?: string;
  queueUrl?: string;
  config?: PgBridgeConfig;
  maxMessageBytes?: number;
  snsClient?: 'query' | 'sdk';
  payloadBucket?: string;
}

/** A listener in this process with short timers, so failure tests run in seconds. */
export async function startTestListener(options: TestListenerOptions): Promise<Listener> {
  const { databaseUrl, endpoint, topicArn, queueUrl, config, maxMessageBytes, snsClient, payloadBucket, ...overrides } = options;
  const listener = new Listener({
    connection: { connectionString: databaseUrl },
    sink: await createSink({ topicArn, queueUrl, endpoint, maxMessageBytes, snsClient, payloadBucket }),
    watches: config ? parseConfig(config) : undefined,
    batchSize: 200,
    maxInFlight: 8,
    // As in production: standard sinks drain on two connections (FIFO on one).
    drainConnections: 2,
    parkAfterRejections: 2,
    pollIntervalMs: 500,
    leaderRetryMs: 200,
    maxBackoffMs: 1000,
    retryBaseMs: 50,
    watchCheckIntervalMs: 60_000,
    log: captureLogger(),
    ...overrides,
  });
  await listener.start();
  return listener;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
