import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PgBridge } from '../../lib/cdk/pg-bridge.ts';
import { deadLetterQueueOutputDescription } from '../../lib/redrive/dead-letter-queue-output.ts';

describe('consumer stack outputs', () => {
  it("each consumer's dead-letter queue URL is a stack output that pgbridge redrive --stack finds by the consumer's id", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Shop');
    const bridge = new PgBridge(stack, 'Bridge', {
      vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }),
      database: { host: 'db.internal.example', secret: new secretsmanager.Secret(stack, 'DbSecret') },
      watches: [{ table: 'orders' }],
    });
    const orders = bridge.addWebhookConsumer('OrderWebhook', { filter: { table: 'orders' }, url: 'https://hooks.example.com/orders' });
    const audit = bridge.addConsumer('Audit', { handler: fileURLToPath(new URL('./fixtures/audit-handler.ts', import.meta.url)) });
    const signups = bridge.addEmailConsumer('SignupEmail', {
      from: 'team@example.com',
      to: 'team@example.com',
      subject: 'Hi',
      text: 'Hello',
    });

    const outputs = Template.fromStack(stack).findOutputs('*');
    const byDescription = Object.fromEntries(Object.values(outputs).map((output) => [output.Description, output.Value]));

    expect(byDescription[deadLetterQueueOutputDescription('OrderWebhook')]).toEqual(
      stack.resolve(orders.consumer.deadLetterQueue.queueUrl),
    );
    expect(byDescription[deadLetterQueueOutputDescription('SignupEmail')]).toEqual(
      stack.resolve(signups.consumer.deadLetterQueue.queueUrl),
    );
    expect(byDescription[deadLetterQueueOutputDescription('Audit')]).toEqual(stack.resolve(audit.deadLetterQueue.queueUrl));
  });
});
