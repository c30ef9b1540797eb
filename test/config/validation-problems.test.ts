import { describe, expect, it } from 'vitest';
import { parseChangeEvent } from '../../lib/consumers/change-event-parser.ts';
import { webhookSettingsFromEnvironment } from '../../lib/consumers/webhook-consumer.ts';
import { readListenerSettings } from '../../functions/listener/listener-settings.ts';
import { buildFilterPolicy, type ConsumerFilter } from '../../lib/consumers/filter-policy.ts';

function messageOf(attempt: () => unknown): string {
  try {
    attempt();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('validation errors outside the watch config', () => {
  it('a bad listener variable is named with the value it was given', () => {
    const message = messageOf(() => readListenerSettings({ PGBRIDGE_BATCH_SIZE: 'lots', PGBRIDGE_SNS_CLIENT: 'fast' }));
    expect(message).toBe(
      [
        'invalid listener environment:',
        '  - PGBRIDGE_BATCH_SIZE: Invalid input: expected number, received NaN (got "lots")',
        '  - PGBRIDGE_SNS_CLIENT: Invalid option: expected one of "query"|"sdk" (got "fast")',
      ].join('\n'),
    );
  });

  it('a bad URL or header variable is named without repeating its value, which may hold a password or token', () => {
    const listener = messageOf(() => readListenerSettings({ AWS_ENDPOINT_URL: '//user:hunter2@localhost:4566' }));
    expect(listener).toContain('AWS_ENDPOINT_URL: Invalid URL');
    expect(listener).not.toContain('hunter2');

    const webhook = messageOf(() =>
      webhookSettingsFromEnvironment({
        PGBRIDGE_WEBHOOK_URL: 'https://hooks.example.com/in',
        PGBRIDGE_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hook',
        PGBRIDGE_WEBHOOK_HEADERS: '{"Authorization": 41414141}',
        PGBRIDGE_WEBHOOK_TIMEOUT_MS: 'soon',
      }),
    );
    expect(webhook).toContain('PGBRIDGE_WEBHOOK_TIMEOUT_MS: Invalid input: expected number, received NaN (got "soon")');
    expect(webhook).toContain('PGBRIDGE_WEBHOOK_HEADERS.Authorization: Invalid input: expected string, received number');
    expect(webhook).not.toContain('41414141');
  });

  it('a message body that is not a change event names the bad envelope values but never row contents', () => {
    const body = JSON.stringify({
      id: 'x1',
      schema: 'public',
      table: 'users',
      action: 'upsert',
      label: null,
      key: 'ada@example.com',
      row: 'ada@example.com',
      txid: '7',
      at: 'now',
    });
    const message = messageOf(() => parseChangeEvent(body));
    expect(message).toContain('id: Invalid string: must match pattern /^\\d+$/ (got "x1")');
    expect(message).toContain('action: Invalid option: expected one of "insert"|"update"|"delete"|"truncate"|"read" (got "upsert")');
    expect(message).toContain('row: Invalid input: expected record, received string');
    expect(message).not.toContain('ada@example.com');
  });

  it('a consumer filter names the bad entry of a list', () => {
    const filter = { table: 'orders', action: ['insert', 'upsert'] } as unknown as ConsumerFilter;
    expect(messageOf(() => buildFilterPolicy(filter, 'Orders'))).toBe(
      'filter.action: an action is "insert", "update", "delete", "truncate", "read" (or a list of them) (got "upsert")',
    );
  });
});
