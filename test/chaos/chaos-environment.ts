import pg from 'pg';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { AwsResources } from '../../lib/local/aws-resources.ts';
import { EmbeddedPostgres } from '../../lib/local/embedded-postgres.ts';
import { startLocalSnsSqs, type LocalSnsSqs } from '../../lib/local/local-sns-sqs.ts';
import { spawnListener, type ListenerProcess } from '../support/listener-process.ts';

/** One Postgres (our own: scenarios restart it) and one emulator for a chaos scenario. */
export interface ChaosEnvironment {
  server: EmbeddedPostgres;
  url: string;
  emulator: LocalSnsSqs;
  aws: AwsResources;
  stop(): Promise<void>;
}

/** `settings`: server settings, e.g. wal_level = logical for "capture": "wal" scenarios. */
export async function startChaosEnvironment(settings?: Record<string, string>): Promise<ChaosEnvironment> {
  process.env.AWS_ACCESS_KEY_ID ??= 'chaos';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'chaos';
  process.env.AWS_REGION ??= 'us-east-1';
  const server = new EmbeddedPostgres({ settings });
  const [emulator] = await Promise.all([startLocalSnsSqs(), server.start()]);
  const url = server.databaseUrl('postgres');
  const aws = new AwsResources(emulator.endpoint);
  const client = new pg.Client(url);
  await client.connect();
  // The audit trigger records every event id that committed: the ground truth "written" set
  // the delivered ids are checked against.
  await client.query(`
    CREATE TABLE chaos_rows (id serial PRIMARY KEY, value int NOT NULL DEFAULT 0, note text);
  `);
  await install(client, parseConfig(CHAOS_CONFIG));
  await client.query(`
    CREATE TABLE chaos_written (id bigint PRIMARY KEY);
    CREATE FUNCTION record_written() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO public.chaos_written VALUES (NEW.id) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
    CREATE TRIGGER record_written AFTER INSERT ON pgbridge.outbox FOR EACH ROW EXECUTE FUNCTION record_written();
  `);
  await client.end();
  return {
    server,
    url,
    emulator,
    aws,
    async stop() {
      aws.destroy();
      await Promise.all([emulator.stop(), server.destroy()]);
    },
  };
}

export const CHAOS_CONFIG = { watches: [{ table: 'chaos_rows' }] };

export async function writtenIds(url: string): Promise<Set<string>> {
  const client = new pg.Client(url);
  await client.connect();
  const { rows } = await client.query(`SELECT id::text FROM chaos_written`);
  await client.end();
  return new Set(rows.map((row) => row.id));
}

export async function outboxCount(url: string): Promise<number> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT (SELECT count(*) FROM pgbridge.outbox)::int AS n`);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

/**
 * The real listener process on the chaos database, publishing to an SNS topic or straight to a
 * queue; `settings` overrides its environment (another endpoint, log level, backoff).
 */
export function spawnChaosListener(
  env: ChaosEnvironment,
  sink: { topicArn: string } | { queueUrl: string },
  settings: Record<string, string> = {},
): ListenerProcess {
  return spawnListener({
    DATABASE_URL: env.url,
    ...('topicArn' in sink ? { PGBRIDGE_TOPIC_ARN: sink.topicArn } : { PGBRIDGE_QUEUE_URL: sink.queueUrl }),
    AWS_ENDPOINT_URL: env.emulator.endpoint,
    PGBRIDGE_CONFIG_JSON: JSON.stringify(CHAOS_CONFIG),
    PGBRIDGE_LOG_LEVEL: 'warn',
    ...settings,
  });
}
