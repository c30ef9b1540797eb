import { Logger } from '@aws-lambda-powertools/logger';
import { SESClient } from '@aws-sdk/client-ses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailConsumer } from '../../lib/consumers/email-consumer.ts';
import { renderTemplate, templateProblems } from '../../lib/consumers/event-template.ts';
import { sentEmails, startLocalSes, type LocalSes } from '../../lib/local/local-ses.ts';
import { changeEvent, sqsEvent } from '../support/sqs-event.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';

let ses: LocalSes;
let client: SESClient;
let aws: TestAws;

beforeAll(async () => {
  aws = await startTestAws();
  ses = await startLocalSes();
  client = new SESClient({ endpoint: ses.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(async () => {
  client?.destroy();
  await ses?.stop();
  await aws?.stop();
});

async function emailsTo(address: string) {
  return (await sentEmails(ses.endpoint)).filter((email) => email.to.includes(address));
}

describe('email consumer', () => {
  it('sends one SES email per event, rendered from the templates, to the address in the row', async () => {
    const handler = createEmailConsumer(
      {
        from: 'Team <team@example.com>',
        to: ['{{row.email}}'],
        subject: 'New signup: {{row.name}}',
        text: 'Hello {{row.name}}, you are on {{row.plan}}.',
      },
      { ses: client, logger: new Logger({ logLevel: 'ERROR' }) },
    );
    const response = await handler(sqsEvent([changeEvent({ row: { id: 1, name: 'Grace', email: 'grace@example.com', plan: 'free' } })]));
    expect(response.batchItemFailures).toEqual([]);
    const emails = await emailsTo('grace@example.com');
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({ subject: 'New signup: Grace', text: 'Hello Grace, you are on free.' });
    expect(emails[0]!.from).toContain('team@example.com');
  });

  it('escapes row values in the HTML body, not in the text body', async () => {
    const handler = createEmailConsumer(
      {
        from: 'team@example.com',
        to: ['html@example.com'],
        subject: 'Signup: {{row.name}}',
        text: 'Name: {{row.name}}',
        html: '<p>Name: <b>{{row.name}}</b></p>',
      },
      { ses: client, logger: new Logger({ logLevel: 'ERROR' }) },
    );
    await handler(sqsEvent([changeEvent({ row: { id: 2, name: '<script>alert("x")</script> & co' } })]));
    const [email] = await emailsTo('html@example.com');
    expect(email!.html).toBe('<p>Name: <b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</b></p>');
    expect(email!.text).toBe('Name: <script>alert("x")</script> & co');
  });

  it('a line break in a value cannot add a header line to the subject', async () => {
    const handler = createEmailConsumer(
      { from: 'team@example.com', to: ['subject@example.com'], subject: 'Hi {{row.name}}', text: '.' },
      { ses: client, logger: new Logger({ logLevel: 'ERROR' }) },
    );
    await handler(sqsEvent([changeEvent({ row: { id: 3, name: 'Eve\r\nBcc: all@example.com' } })]));
    const [email] = await emailsTo('subject@example.com');
    expect(email!.subject).toBe('Hi Eve Bcc: all@example.com');
  });

  it('an event whose recipient template renders empty is reported, not sent', async () => {
    const handler = createEmailConsumer(
      { from: 'team@example.com', to: ['{{row.email}}'], subject: 'Reported: {{row.name}}', text: 't' },
      { ses: client, logger: new Logger({ logLevel: 'CRITICAL' }), deadLetterQueueUrl: '' },
    );
    const input = sqsEvent([changeEvent({ row: { id: 4, name: 'No Mail' } })]);
    expect((await handler(input)).batchItemFailures).toEqual([{ itemIdentifier: input.Records[0]!.messageId }]);
    expect((await sentEmails(ses.endpoint)).filter((email) => email.subject === 'Reported: No Mail')).toEqual([]);
  });

  it('an event that can never be sent goes to the dead-letter queue with the reason, and nothing is sent', async () => {
    const deadLetterQueueUrl = (await aws.resources.createQueue(aws.name('email-dlq'))).url;
    const handler = createEmailConsumer(
      { from: 'team@example.com', to: ['{{row.email}}'], subject: 'Parked: {{row.name}}', text: 't' },
      { ses: client, sqs: aws.resources.sqs, logger: new Logger({ logLevel: 'CRITICAL' }), deadLetterQueueUrl },
    );
    const event = changeEvent({ row: { id: 6, name: 'No Address' } });
    expect((await handler(sqsEvent([event]))).batchItemFailures).toEqual([]);

    const parked = await receiveMessages(aws, deadLetterQueueUrl, { count: 1, settleMs: 200 });
    expect(parked.map((message) => message.event)).toEqual([event]);
    expect(parked[0]!.attributes.pgbridge_failure).toMatch(/no recipient/);
    expect((await sentEmails(ses.endpoint)).filter((email) => email.subject === 'Parked: No Address')).toEqual([]);
  });

  it('templates: nested values, missing values, and typos found before deploy', () => {
    const event = changeEvent({ action: 'update', row: { id: 5, plan: 'pro' }, old: { plan: 'free' } });
    expect(renderTemplate('{{old.plan}} -> {{ row.plan }} ({{row.missing}}) {{key}}', event)).toBe('free -> pro () {"id":1}');
    expect(templateProblems('Hi {{rows.name}}')).toEqual([
      '"{{rows.name}}": unknown field "rows" (use one of id, schema, table, action, label, key, row, old, changed, txid, at, truncated, key_change, coalesced, backfill, target)',
    ]);
    expect(templateProblems('Hi {{row name}}')).toHaveLength(1);
    expect(templateProblems('Hi {{row.name}} at {{at}}')).toEqual([]);
  });
});
