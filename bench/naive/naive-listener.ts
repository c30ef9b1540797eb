import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';

// The naive listener, as its authors write it: LISTEN, and for each notification one
// SendMessage with the payload as the body, sent as soon as it arrives.
const queueUrl = process.env.NAIVE_QUEUE_URL!;
const sqs = new SQSClient({
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: process.env.AWS_REGION ?? 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const client = new pg.Client({ connectionString: process.env.DATABASE_URL, application_name: 'naive-listener' });
await client.connect();
client.on('notification', (notification) => {
  sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: notification.payload! })).catch((error) => {
    console.error(JSON.stringify({ msg: 'send failed', error: String(error) }));
  });
});
await client.query('LISTEN bench_naive');
console.log(JSON.stringify({ msg: 'listening' }));
process.on('SIGTERM', () => void client.end().finally(() => process.exit(0)));
