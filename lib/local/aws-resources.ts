import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { FilterPolicyScope } from '../consumers/filter-policy.ts';

/**
 * Creates topics, queues and filtered subscriptions through the AWS API, so the local flow and
 * the tests work the same against the emulator, LocalStack or a real account. (Production
 * resources come from the CDK constructs instead.)
 */
export class AwsResources {
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;

  constructor(endpoint: string | undefined, region = process.env.AWS_REGION ?? 'us-east-1') {
    const config = {
      region,
      ...(endpoint ? { endpoint } : {}),
      // Emulators accept any credentials; real AWS uses the normal provider chain.
      ...(endpoint && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
    };
    this.sns = new SNSClient(config);
    this.sqs = new SQSClient(config);
    // Emulators answer path-style S3 requests; bucket subdomains would need DNS they lack.
    this.s3 = new S3Client({ ...config, forcePathStyle: endpoint !== undefined });
  }

  /** A bucket for rows too large for a message (the CDK PayloadBucket in production). */
  async createBucket(name: string): Promise<string> {
    await this.s3.send(new CreateBucketCommand({ Bucket: name }));
    return name;
  }

  async createTopic(name: string): Promise<string> {
    const fifo = name.endsWith('.fifo');
    const { TopicArn } = await this.sns.send(new CreateTopicCommand({ Name: name, Attributes: fifo ? { FifoTopic: 'true' } : {} }));
    return TopicArn!;
  }

  async createQueue(name: string, attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
    const fifo = name.endsWith('.fifo');
    const { QueueUrl } = await this.sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { ...(fifo ? { FifoQueue: 'true' } : {}), ...attributes } }),
    );
    const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn! };
  }

  /** A queue subscribed to the topic with raw delivery and, optionally, a filter policy. */
  async subscribeQueue(
    topicArn: string,
    queueName: string,
    filterPolicy?: object,
    filterPolicyScope?: FilterPolicyScope,
  ): Promise<{ url: string; arn: string }> {
    const queue = await this.createQueue(queueName);
    await this.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queue.url,
        Attributes: {
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'sns.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: queue.arn,
                Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
              },
            ],
          }),
        },
      }),
    );
    await this.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queue.arn,
        Attributes: {
          RawMessageDelivery: 'true',
          ...(filterPolicy ? { FilterPolicy: JSON.stringify(filterPolicy) } : {}),
          ...(filterPolicyScope ? { FilterPolicyScope: filterPolicyScope } : {}),
        },
      }),
    );
    return queue;
  }

  destroy(): void {
    this.sns.destroy();
    this.sqs.destroy();
    this.s3.destroy();
  }
}
