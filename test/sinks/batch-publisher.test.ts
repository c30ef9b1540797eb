import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishAll, type PublishOutcome } from '../../lib/sinks/batch-publisher.ts';
import type { OutgoingMessage } from '../../lib/sinks/sink.ts';
import { SnsSink } from '../../lib/sinks/sns-sink.ts';
import { ScriptedSnsServer } from '../support/scripted-sns-server.ts';

// How one drain round's messages are split into PublishBatch calls, against a real HTTP
// endpoint whose answers and timing the test scripts (the listener tests cover the same path
// against the emulator end to end).

let sns: ScriptedSnsServer;

beforeAll(async () => {
  sns = await ScriptedSnsServer.start();
});

afterAll(async () => {
  await sns.stop();
});

beforeEach(() => {
  sns.reset();
});

const fifoSink = () => new SnsSink(sns.client(), 'arn:aws:sns:us-east-1:123456789012:events.fifo');
const message = (id: number, group: string): OutgoingMessage => ({
  id: String(id),
  body: `{"id":"${id}"}`,
  attributes: { table: 'items' },
  groupId: group,
});
const byId = (outcomes: PublishOutcome[]) => new Map(outcomes.map((outcome) => [outcome.id, outcome]));

describe('FIFO publishing', () => {
  it('a round of many rows fills every call in flight, and a busy row never has two calls out at once', async () => {
    sns.delayMs = 50;
    // 200 rows with one event each, and one hot row with 5 events spread through the round.
    const messages: OutgoingMessage[] = [];
    for (let id = 1; id <= 205; id++) messages.push(id % 35 === 0 ? message(id, 'hot') : message(id, `row-${id}`));
    const report = await publishAll(fifoSink(), messages, 4);

    expect(report.outcomes.filter((outcome) => outcome.ok)).toHaveLength(205);
    expect(sns.maxInFlight).toBe(4);
    // The hot row's 5 events need 5 calls one after the other; the other rows fill ~20 calls.
    expect(sns.calls.length).toBeLessThanOrEqual(25);
    const hotCalls = sns.calls.filter((call) => call.groups.includes('hot'));
    expect(hotCalls.map((call) => call.ids[call.groups.indexOf('hot')])).toEqual(['35', '70', '105', '140', '175']);
    for (let index = 1; index < hotCalls.length; index++)
      expect(hotCalls[index]!.startedAt).toBeGreaterThanOrEqual(hotCalls[index - 1]!.answeredAt!);
    for (const call of sns.calls) expect(new Set(call.groups).size).toBe(call.groups.length);
  });

  it('once an event of a row is refused, the later events of that row are held, not sent', async () => {
    sns.refuse.add('2');
    const messages = [message(1, 'a'), message(2, 'b'), message(3, 'a'), message(4, 'b'), message(5, 'c'), message(6, 'b')];
    const outcomes = byId((await publishAll(fifoSink(), messages, 4)).outcomes);

    expect(outcomes.get('2')).toMatchObject({ ok: false, retryable: true, code: 'InternalError' });
    expect(outcomes.get('4')).toEqual({ id: '4', ok: false, held: true });
    expect(outcomes.get('6')).toEqual({ id: '6', ok: false, held: true });
    for (const id of ['1', '3', '5']) expect(outcomes.get(id)).toEqual({ id, ok: true });
    const sent = sns.calls.flatMap((call) => call.ids);
    expect(sent).not.toContain('4');
    expect(sent).not.toContain('6');
    expect(sent.indexOf('1')).toBeLessThan(sent.indexOf('3'));
  });

  it('a call that fails as a whole holds the later events of every row it carried', async () => {
    sns.nextAnswers.push({
      status: 400,
      body: '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>m</Message></Error></ErrorResponse>',
    });
    const messages = [message(1, 'a'), message(2, 'b'), message(3, 'a'), message(4, 'c')];
    const outcomes = byId((await publishAll(fifoSink(), messages, 1)).outcomes);
    // The first call carries 1, 2 and 4 (3 must wait for 1, same row) and fails as a whole.
    for (const id of ['1', '2', '4']) expect(outcomes.get(id)).toMatchObject({ ok: false, retryable: true, code: 'CallFailed' });
    expect(outcomes.get('3')).toEqual({ id: '3', ok: false, held: true });
    expect(sns.calls.map((call) => call.ids)).toEqual([['1', '2', '4']]);
  });

  it('a message larger than a whole batch still goes out, alone: the sink, not the batching, decides', async () => {
    const messages = [{ ...message(1, 'a'), body: 'x'.repeat(300_000) }, message(2, 'a'), message(3, 'b')];
    const report = await publishAll(fifoSink(), messages, 2);
    expect(report.outcomes.map((outcome) => outcome.id).sort()).toEqual(['1', '2', '3']);
    expect(sns.calls.find((call) => call.ids.includes('1'))!.ids).toEqual(['1']);
  });

  it("a row's event that does not fit the current batch by size is never overtaken by a later event of the row", async () => {
    const big = 'x'.repeat(100_000);
    // 1 and 2 fill most of a 256 KiB batch, so 3 waits for the next call; 4 (same row as 3) must wait with it.
    const messages = [
      { ...message(1, 'a'), body: big },
      { ...message(2, 'b'), body: big },
      { ...message(3, 'c'), body: big },
      message(4, 'c'),
      message(5, 'd'),
    ];
    const report = await publishAll(fifoSink(), messages, 1);
    expect(report.outcomes.every((outcome) => outcome.ok)).toBe(true);
    const callOf = (id: string) => sns.calls.findIndex((call) => call.ids.includes(id));
    expect(callOf('3')).toBeGreaterThan(callOf('1'));
    expect(callOf('4')).toBeGreaterThan(callOf('3'));
    expect(callOf('5')).toBe(callOf('1'));
  });
});

describe('reading a batch answer defensively', () => {
  it('an id reported refused and then accepted still counts as refused', async () => {
    sns.answerXml = () =>
      '<PublishBatchResponse><PublishBatchResult>' +
      '<Failed><member><Id>1</Id><Code>InternalError</Code><Message>x</Message><SenderFault>false</SenderFault></member></Failed>' +
      '<Successful><member><Id>1</Id></member></Successful>' +
      '</PublishBatchResult></PublishBatchResponse>';
    const outcomes = byId((await publishAll(fifoSink(), [message(1, 'a')], 1)).outcomes);
    expect(outcomes.get('1')).toMatchObject({ ok: false, retryable: true, code: 'InternalError' });
  });

  it('an id the call did not carry is ignored, one reported both accepted and refused counts as refused, a missing one as not answered', async () => {
    sns.answerXml = () =>
      '<PublishBatchResponse><PublishBatchResult>' +
      '<Successful><member><Id>1</Id></member><member><Id>2</Id></member><member><Id>999</Id></member></Successful>' +
      '<Failed><member><Id>2</Id><Code>InternalError</Code><Message>x</Message><SenderFault>false</SenderFault></member></Failed>' +
      '</PublishBatchResult></PublishBatchResponse>';
    const messages = [message(1, 'a'), message(2, 'b'), message(3, 'c')];
    const report = await publishAll(fifoSink(), messages, 1);

    expect(report.outcomes.map((outcome) => outcome.id).sort()).toEqual(['1', '2', '3']);
    const outcomes = byId(report.outcomes);
    expect(outcomes.get('1')).toEqual({ id: '1', ok: true });
    expect(outcomes.get('2')).toMatchObject({ ok: false, retryable: true, code: 'InternalError' });
    expect(outcomes.get('3')).toMatchObject({ ok: false, retryable: true, code: 'NoAnswer' });
  });
});
