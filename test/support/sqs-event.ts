import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { toSqsEvent } from '../../lib/local/sqs-lambda-event.ts';
import type { ChangeEvent } from '../../lib/message/change-event.ts';

let nextId = 1000;

/** A change event as the listener publishes it (only what a test cares about needs giving). */
export function changeEvent<Row = Record<string, unknown>>(fields: Partial<ChangeEvent<Row>> = {}): ChangeEvent<Row> {
  return {
    id: String(++nextId),
    schema: 'public',
    table: 'users',
    action: 'insert',
    label: null,
    key: { id: 1 } as unknown as Partial<Row>,
    row: { id: 1, name: 'Ada', email: 'ada@example.com' } as Row,
    old: null,
    changed: null,
    txid: '777',
    at: new Date().toISOString(),
    ...fields,
  };
}

/** The SQS event Lambda would deliver for these message bodies (strings are sent as they are). */
export function sqsEvent(
  bodies: Array<ChangeEvent<unknown> | string>,
  queueArn = 'arn:aws:sqs:us-east-1:000000000000:test-queue',
): SQSEvent {
  return toSqsEvent(
    bodies.map(
      (body): Message => ({
        MessageId: randomUUID(),
        ReceiptHandle: randomUUID(),
        Body: typeof body === 'string' ? body : JSON.stringify(body),
        MessageAttributes:
          typeof body === 'string'
            ? {}
            : { table: { DataType: 'String', StringValue: body.table }, action: { DataType: 'String', StringValue: body.action } },
      }),
    ),
    queueArn,
    'us-east-1',
  );
}
