import { pathToFileURL } from 'node:url';
import { loadBridgeConfig, type BridgeConfig } from '../../lib/config/watch-config.ts';
import { ConfigError, InstallError } from '../../lib/errors.ts';
import { createLogger, type Logger } from '../../lib/logger.ts';
import { createSink } from '../../lib/sinks/create-sink.ts';
import { startHealthServer } from './health-server.ts';
import { Listener } from './listener.ts';
import { listenerOptionsFrom, readListenerSettings } from './listener-settings.ts';
import { exitOnSignals } from './signals.ts';

export interface ListenCommand {
  /** `--config` path; otherwise PGBRIDGE_CONFIG_JSON / PGBRIDGE_CONFIG / ./pgbridge.config.json. */
  configPath?: string;
  /** `--no-install` (or PGBRIDGE_NO_INSTALL=true) turns this off: drain what is installed, do not touch triggers. */
  install: boolean;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Called before connecting, so that a stop request is honoured even while still connecting. */
  onCreated?: (listener: Listener) => void;
}

/** `pgbridge listen`, and the container's entry point. Resolves once connected and installed. */
export async function startListener({
  configPath,
  install,
  env = process.env,
  log = createLogger('pgbridge-listener'),
  onCreated,
}: ListenCommand): Promise<Listener> {
  const settings = readListenerSettings(env);
  install &&= !settings.PGBRIDGE_NO_INSTALL;
  const config: BridgeConfig | undefined = install ? loadBridgeConfig({ path: configPath, env }) : undefined;
  const sink = await createSink({
    topicArn: settings.PGBRIDGE_TOPIC_ARN,
    queueUrl: settings.PGBRIDGE_QUEUE_URL,
    region: settings.AWS_REGION,
    endpoint: settings.AWS_ENDPOINT_URL,
    maxMessageBytes: settings.PGBRIDGE_MAX_MESSAGE_BYTES,
    snsClient: settings.PGBRIDGE_SNS_CLIENT,
    payloadBucket: settings.PGBRIDGE_PAYLOAD_BUCKET,
  });
  const listener = new Listener({
    ...listenerOptionsFrom(settings),
    sink,
    watches: config?.watches,
    retentionDays: config?.retentionDays,
    log,
  });
  if (settings.PGBRIDGE_HEALTH_PORT !== undefined) {
    const server = await startHealthServer(settings.PGBRIDGE_HEALTH_PORT, listener);
    log.info({ msg: 'health endpoint', port: (server.address() as { port: number }).port });
    listener.on('role', (role) => {
      if (role === 'stopped') server.close();
    });
  }
  onCreated?.(listener);
  log.info({ msg: 'starting', sink: sink.description, fifo: sink.fifo, install });
  await listener.start();
  return listener;
}

/**
 * `pgbridge listen` and the container: runs until SIGTERM/SIGINT. A configuration the user must
 * fix is logged and exits with code 2, the CLI's code for configuration errors.
 */
export async function runListener({ configPath, install }: Pick<ListenCommand, 'configPath' | 'install'>): Promise<void> {
  let log: Logger | undefined;
  try {
    log = createLogger('pgbridge-listener');
    await startListener({ configPath, install, log, onCreated: (listener) => exitOnSignals(() => listener.stop()) });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof InstallError) {
      // Without a logger (its own setting was wrong) the message goes to stderr as the CLI's do.
      if (log) log.fatal({ msg: error.message });
      else console.error(`pgbridge: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

// The container takes its settings from the environment only; flags are the CLI's (`pgbridge listen`).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runListener({ install: true });
