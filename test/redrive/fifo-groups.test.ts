/**
 * The batch path on FIFO queues against an SQS JSON endpoint that, as AWS does, hands out several
 * messages of one group in a single receive (the emulator gives one per group) and has no move
 * tasks: group order and holding back behind a refused message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-process.ts';
import { ScriptedSqsServer } from '../support/scripted-sqs-server.ts';

let sqs: ScriptedSqsServer;

beforeAll(async () => {
  sqs = await ScriptedSqsServer.start();
  sqs.moveTasks = false;
});

afterAll(async () => {
  await sqs?.stop();
});

describe('pgbridge redrive of a FIFO dead-letter queue, in batches', () => {
  it('sends each group in order, one message per group per call, and holds back the rest of a group behind a refused message', async () => {
    sqs.addQueue('rows.fifo', { maxMessageBytes: 1024 });
    sqs.addQueue('rows-dlq.fifo', { deadLetterOf: ['rows.fifo'] });
    const event = (id: string, size = 0) => JSON.stringify({ id, note: 'x'.repeat(size) });
    sqs.store('rows-dlq.fifo', [
      { body: event('a1'), groupId: 'orders:1' },
      { body: event('a2'), groupId: 'orders:1' },
      { body: event('b1'), groupId: 'orders:2' },
      { body: event('b2', 2000), groupId: 'orders:2' },
      { body: event('a3'), groupId: 'orders:1' },
      { body: event('b3'), groupId: 'orders:2' },
      { body: event('b4'), groupId: 'orders:2' },
    ]);
    const deadLetterIds = new Map(sqs.stored('rows-dlq.fifo').map((message) => [JSON.parse(message.body).id, message.id]));

    const result = await runCli(['redrive', 'rows-dlq.fifo'], { AWS_ENDPOINT_URL: sqs.endpoint });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('moved 4 message(s) from rows-dlq.fifo to rows.fifo (receive, send, delete)');
    expect(result.stdout).toMatch(
      /rejected by rows\.fifo, still in rows-dlq\.fifo: message \S+: InvalidParameterValue: .*shorter than 1024 bytes/,
    );
    expect(result.stdout).toContain('held back 2 message(s) behind a rejected one of their FIFO group, still in rows-dlq.fifo');
    const arrived = sqs.stored('rows.fifo');
    expect(arrived.map((message) => `${message.groupId}/${JSON.parse(message.body).id}`)).toEqual([
      'orders:1/a1',
      'orders:2/b1',
      'orders:1/a2',
      'orders:1/a3',
    ]);
    expect(arrived.map((message) => message.deduplicationId)).toEqual(['a1', 'b1', 'a2', 'a3'].map((id) => deadLetterIds.get(id)));
    for (const call of sqs.callsOf('SendMessageBatch')) {
      const groups = call.input.Entries.map((entry: { MessageGroupId: string }) => entry.MessageGroupId);
      expect(new Set(groups).size).toBe(groups.length);
    }
    const left = sqs.stored('rows-dlq.fifo');
    expect(left.map((message) => JSON.parse(message.body).id)).toEqual(['b2', 'b3', 'b4']);
    expect(left.every((message) => message.invisibleUntil <= Date.now())).toBe(true);
  });

  it('a target that refuses the calls themselves: exit 1 with the cause and the count, every message still in the dead-letter queue and visible', async () => {
    sqs.addQueue('locked.fifo');
    sqs.addQueue('locked-dlq.fifo', { deadLetterOf: ['locked.fifo'] });
    sqs.store('locked-dlq.fifo', [
      { body: '{"id":"1"}', groupId: 'g1' },
      { body: '{"id":"2"}', groupId: 'g2' },
    ]);
    sqs.refuseSends = { code: 'KmsAccessDenied', message: 'The ciphertext refers to a customer master key that does not exist.' };

    const result = await runCli(['redrive', 'locked-dlq.fifo'], { AWS_ENDPOINT_URL: sqs.endpoint });
    sqs.refuseSends = undefined;

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'pgbridge: 0 message(s) moved, then sending to locked.fifo failed; the rest is still in locked-dlq.fifo: KmsAccessDenied: The ciphertext refers to a customer master key that does not exist.',
    );
    const left = sqs.stored('locked-dlq.fifo');
    expect(left.map((message) => JSON.parse(message.body).id)).toEqual(['1', '2']);
    expect(left.every((message) => message.invisibleUntil <= Date.now())).toBe(true);
    expect(sqs.stored('locked.fifo')).toEqual([]);
  });
});
