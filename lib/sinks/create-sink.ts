import { SNSClient } from '@aws-sdk/client-sns';
import { ConfigError } from '../errors.ts';
import type { Sink } from './sink.ts';
import { SdkSnsSink } from './sdk-sns-sink.ts';
import { SnsSink } from './sns-sink.ts';

export interface SinkSettings {
  topicArn?: string;
  queueUrl?: string;
  region?: string;
  /** LocalStack, the local emulator, or any SNS/SQS-compatible endpoint. */
  endpoint?: string;
  maxMessageBytes?: number;
  /** `query` (default): pgbridge's lean SNS client; `sdk`: the AWS SDK's PublishBatchCommand. */
  snsClient?: 'query' | 'sdk';
  /** S3 bucket for rows too large for a message; without it they are sent truncated. */
  payloadBucket?: string;
}

/**
 * `PGBRIDGE_TOPIC_ARN` publishes to SNS, `PGBRIDGE_QUEUE_URL` sends straight to one SQS queue;
 * with `PGBRIDGE_PAYLOAD_BUCKET`, rows too large for either go to S3 behind a pointer.
 *
 * The S3 and SQS clients are imported only when configured: evaluated at start, the S3 client
 * alone kept 3 MB more live heap in every listener, which V8's heap growth turned into about
 * 15 MB more peak RSS while a backlog drains (bench/listener-memory.ts).
 */
export async function createSink(settings: SinkSettings): Promise<Sink> {
  const sink = await createMessageSink(settings);
  if (!settings.payloadBucket) return sink;
  const [{ S3Client }, { PayloadOffloadingSink }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('./payload-offloading-sink.ts'),
  ]);
  const s3 = new S3Client({
    ...clientConfig(settings),
    // Emulators and LocalStack answer path-style requests; bucket subdomains need DNS they lack.
    forcePathStyle: settings.endpoint !== undefined,
    // A bucket in another region than the topic answers with a redirect the client then follows.
    followRegionRedirects: true,
  });
  return new PayloadOffloadingSink(sink, s3, settings.payloadBucket);
}

async function createMessageSink(settings: SinkSettings): Promise<Sink> {
  if (settings.topicArn && settings.queueUrl) {
    throw new ConfigError('set either PGBRIDGE_TOPIC_ARN (SNS) or PGBRIDGE_QUEUE_URL (SQS), not both');
  }
  if (settings.topicArn) {
    const client = new SNSClient(clientConfig(settings));
    return settings.snsClient === 'sdk'
      ? new SdkSnsSink(client, settings.topicArn, settings.maxMessageBytes)
      : new SnsSink(client, settings.topicArn, settings.maxMessageBytes);
  }
  if (settings.queueUrl) {
    const [{ SQSClient }, { SqsSink }] = await Promise.all([import('@aws-sdk/client-sqs'), import('./sqs-sink.ts')]);
    return new SqsSink(new SQSClient(clientConfig(settings)), settings.queueUrl, settings.maxMessageBytes);
  }
  throw new ConfigError('no sink: set PGBRIDGE_TOPIC_ARN (an SNS topic) or PGBRIDGE_QUEUE_URL (an SQS queue)');
}

function clientConfig(settings: SinkSettings) {
  return {
    region: settings.region ?? regionFromArn(settings.topicArn) ?? regionFromQueueUrl(settings.queueUrl) ?? 'us-east-1',
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    // The listener does its own backoff per event; the SDK's own retries would hide a down sink.
    maxAttempts: 2,
    // Without a timeout a half-open connection would stall the drain round forever, holding
    // its row locks; the session's idle-in-transaction limit (5 min) leaves room for several.
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  };
}

function regionFromArn(arn: string | undefined): string | undefined {
  return arn?.split(':')[3] || undefined;
}

/** `https://sqs.eu-west-1.amazonaws.com/…` (or the legacy `https://eu-west-1.queue.amazonaws.com/…`) names its region. */
export function regionFromQueueUrl(url: string | undefined): string | undefined {
  const match = url ? /^https?:\/\/(?:sqs\.([a-z0-9-]+)\.amazonaws\.com|([a-z0-9-]+)\.queue\.amazonaws\.com)/.exec(url) : null;
  return match ? (match[1] ?? match[2]) : undefined;
}
