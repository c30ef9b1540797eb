import { PublishBatchCommand, PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy } from '../../bench/measure/counting-proxy.ts';
import { createSink } from '../../lib/sinks/create-sink.ts';
import { publishAll } from '../../lib/sinks/batch-publisher.ts';
import type { OutgoingMessage } from '../../lib/sinks/sink.ts';
import { AwsResources } from '../../lib/local/aws-resources.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';

// The benchmark's SNS request counts come from this proxy: it must count what really went
// through it, and pass everything on unchanged.

let aws: TestAws;
let proxy: CountingProxy;

beforeAll(async () => {
  aws = await startTestAws();
  proxy = new CountingProxy(new URL(aws.endpoint));
  await proxy.start();
});

afterAll(async () => {
  await proxy.stop();
  await aws.stop();
});

const message = (id: number): OutgoingMessage => ({ id: String(id), body: `{"id":${id}}`, attributes: { table: 'items' } });

describe('counting proxy', () => {
  it("counts pgbridge's PublishBatch calls and their entries, and the messages reach the subscribed queue", async () => {
    const topic = await aws.resources.createTopic(aws.name('counted'));
    const queue = await aws.resources.subscribeQueue(topic, aws.name('counted-consumer'));
    proxy.reset();

    const report = await publishAll(
      await createSink({ topicArn: topic, endpoint: proxy.url }),
      Array.from({ length: 23 }, (_, index) => message(index + 1)),
      4,
    );

    expect(report.outcomes.filter((outcome) => outcome.ok)).toHaveLength(23);
    expect(proxy.counts).toEqual({ publishBatchRequests: report.calls, publishedEntries: 23, publishRequests: 0 });
    expect(report.calls).toBe(3);
    const received = await receiveMessages(aws, queue.url, { count: 23 });
    expect(received.map((entry) => entry.event.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, index) => index + 1));
  });

  it("counts the AWS SDK's Publish and PublishBatch calls, and not the SQS calls going through it", async () => {
    const topic = await aws.resources.createTopic(aws.name('sdk-counted'));
    const throughProxy = new AwsResources(proxy.url);
    try {
      const queue = await aws.resources.subscribeQueue(topic, aws.name('sdk-counted-consumer'));
      proxy.reset();
      await throughProxy.createQueue(aws.name('not-counted'));
      await throughProxy.sns.send(new PublishCommand({ TopicArn: topic, Message: '{"id":1}' }));
      await throughProxy.sns.send(
        new PublishBatchCommand({
          TopicArn: topic,
          PublishBatchRequestEntries: [
            { Id: 'a', Message: '{"id":2}' },
            { Id: 'b', Message: '{"id":3}' },
          ],
        }),
      );
      expect(await receiveMessages(aws, queue.url, { count: 3 })).toHaveLength(3);

      expect(proxy.counts).toEqual({ publishBatchRequests: 1, publishedEntries: 2, publishRequests: 1 });
    } finally {
      throughProxy.destroy();
    }
  });
});
