import { InvalidArgumentError, type Command } from 'commander';
import { assertSchemaCompatible } from '../../lib/capture/schema-compatibility.ts';
import { statement } from '../../lib/capture/sql-files.ts';
import { ConfigError } from '../../lib/errors.ts';
import type { ReplayBound } from '../../lib/replay/replay-events.ts';
import { withDatabase } from './database.ts';
import { positiveInteger } from './options.ts';

/** A long replay says how far it got, so it can be followed (and resumed with --since). */
const PROGRESS_INTERVAL_MS = 5000;

interface ReplayFlags {
  since: ReplayBound;
  until?: ReplayBound;
  table?: { schema: string; name: string };
  target?: string;
  rate: number;
}

export function addReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('publish retained events again, in id order, with their original ids (needs "retention" in the config)')
    .requiredOption(
      '--since <id|time>',
      'first event: an event id, or an ISO 8601 time compared with the event\'s "at" (inclusive; UTC without an offset)',
      replayBound,
    )
    .option('--until <id|time>', 'stop before this event id or time (exclusive)', replayBound)
    .option('--table <table>', 'only events of this table ("name" or "schema.name")', tableName)
    .option('--target <name>', 'send the events with the attribute target=NAME: only the consumer of that name receives them', targetName)
    .option('--rate <events>', 'events per second at most, so live events keep the sink', positiveInteger, 100)
    .action(async (flags: ReplayFlags) => {
      assertRangeNotEmpty(flags.since, flags.until);
      // Loaded on use, as in `listen`: the AWS SDK would slow every other command down.
      const [{ replayEvents }, { createSink }, { readListenerSettings }] = await Promise.all([
        import('../../lib/replay/replay-events.ts'),
        import('../../lib/sinks/create-sink.ts'),
        import('../../functions/listener/listener-settings.ts'),
      ]);
      const settings = readListenerSettings();
      const sink = await createSink({
        topicArn: settings.PGBRIDGE_TOPIC_ARN,
        queueUrl: settings.PGBRIDGE_QUEUE_URL,
        region: settings.AWS_REGION,
        endpoint: settings.AWS_ENDPOINT_URL,
        maxMessageBytes: settings.PGBRIDGE_MAX_MESSAGE_BYTES,
        snsClient: settings.PGBRIDGE_SNS_CLIENT,
        payloadBucket: settings.PGBRIDGE_PAYLOAD_BUCKET,
      });
      const report = await withDatabase(async (client) => {
        const { rows } = await client.query(statement('admin/schema-exists'));
        if (!rows[0].installed) throw new ConfigError('pgbridge is not installed in this database: nothing to replay');
        await assertSchemaCompatible(client);
        let lastProgress = Date.now();
        return replayEvents(client, sink, {
          ...flags,
          onProgress: (progress) => {
            if (Date.now() - lastProgress < PROGRESS_INTERVAL_MS) return;
            lastProgress = Date.now();
            console.error(`pgbridge replay: ${progress.replayed} event(s) so far, up to id ${progress.lastId}`);
          },
        });
      });
      if (report.expiredBefore) {
        console.error(
          `pgbridge replay: the oldest event still kept is ${report.expiredBefore.id} (at ${report.expiredBefore.at}); older ones expired or were published before retention was on`,
        );
      }
      for (const refused of report.refused)
        console.error(`pgbridge replay: event ${refused.id} not sent, the sink refuses it: ${refused.reason}`);
      const range = report.firstId ? `, ids ${report.firstId} to ${report.lastId}` : '';
      console.log(
        `replayed ${report.replayed} event(s)${range} to ${sink.description}${flags.target ? ` for target ${flags.target}` : ''}`,
      );
      if (report.refused.length > 0) process.exitCode = 1;
    });
}

/** `--until` at or before `--since` (both ids or both times) is a typo, not an empty replay. */
function assertRangeNotEmpty(since: ReplayBound, until: ReplayBound | undefined): void {
  if (!until) return;
  const empty =
    'id' in since && 'id' in until ? BigInt(until.id) <= BigInt(since.id) : 'at' in since && 'at' in until && until.at <= since.at;
  if (empty)
    throw new ConfigError(
      `--until ${'id' in until ? until.id : until.at} is not after --since ${'id' in since ? since.id : since.at}: the range is empty (--until is exclusive)`,
    );
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** An event id (digits), or an ISO 8601 date or time; without an offset it is UTC. */
export function replayBound(value: string): ReplayBound {
  if (/^\d+$/.test(value)) return { id: value };
  const match = ISO_TIME.exec(value);
  const dateOnly = match && value.length === 10;
  const instant = match ? Date.parse(match[1] || dateOnly ? value : `${value}Z`) : Number.NaN;
  if (Number.isNaN(instant)) {
    throw new InvalidArgumentError(`"${value}" is neither an event id (digits) nor an ISO 8601 time such as 2026-12-01T09:30:00Z`);
  }
  return { at: new Date(instant).toISOString() };
}

function tableName(value: string): { schema: string; name: string } {
  const dot = value.indexOf('.');
  const [schema, name] = dot === -1 ? ['public', value] : [value.slice(0, dot), value.slice(dot + 1)];
  if (!schema || !name) throw new InvalidArgumentError(`"${value}" is not a table: use "name" or "schema.name"`);
  return { schema, name };
}

function targetName(value: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not a target name: use 1-128 letters, digits or _ . : - (it becomes the target attribute)`,
    );
  }
  return value;
}
