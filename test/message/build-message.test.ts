import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeJsonForAws, isValidAwsText } from '../../lib/message/aws-text.ts';
import { buildMessage } from '../../lib/message/build-message.ts';
import { fifoGroupId } from '../../lib/message/fifo-group-id.ts';
import type { OutboxEvent } from '../../lib/message/outbox-event.ts';
import { parsePayloadPointer } from '../../lib/message/payload-pointer.ts';

function event(body: string, overrides: Partial<OutboxEvent> = {}): OutboxEvent {
  return {
    id: '42',
    schema_name: 'public',
    table_name: 'users',
    action: 'update',
    label: null,
    backfill: null,
    target: null,
    key: '{"id" : 7}',
    key_values: '7',
    txid: '900',
    at: '"2026-01-02T03:04:05.123456+00:00"',
    key_change: null,
    coalesced: null,
    body,
    ...overrides,
  };
}

describe('the message built for an event', () => {
  it('carries the attributes consumers filter on, label only when the watch has one', () => {
    const plain = buildMessage(event('{"id":"42"}'), { fifo: false, maxMessageBytes: 262_144 });
    expect(plain).toMatchObject({ ok: true, message: { id: '42', attributes: { table: 'users', schema: 'public', action: 'update' } } });
    const labelled = buildMessage(event('{}', { label: 'plan_changed' }), { fifo: true, maxMessageBytes: 262_144 });
    expect(labelled).toMatchObject({ ok: true, message: { attributes: { label: 'plan_changed' }, groupId: 'public.users:7' } });
  });

  it('a body over the limit is replaced by the key and "truncated": true, and stays valid JSON', () => {
    const built = buildMessage(event(JSON.stringify({ row: 'x'.repeat(300_000) })), { fifo: false, maxMessageBytes: 262_144 });
    if (!built.ok) throw new Error(built.reason);
    expect(built.truncated).toBe(true);
    expect(JSON.parse(built.message.body)).toEqual({
      id: '42',
      schema: 'public',
      table: 'users',
      action: 'update',
      label: null,
      key: { id: 7 },
      truncated: true,
      txid: '900',
      at: '2026-01-02T03:04:05.123456+00:00',
    });
  });

  it('with a payload bucket, a body over the limit is kept whole for S3 and the message is a pointer to it', () => {
    const body = JSON.stringify({ id: '42', row: { note: 'é😀'.repeat(100_000) } });
    const built = buildMessage(event(body, { label: 'big' }), { fifo: true, maxMessageBytes: 262_144, payloadBucket: 'pgbridge-payloads' });
    if (!built.ok) throw new Error(built.reason);
    const { message } = built;
    expect(built.truncated).toBe(false);
    expect(message.attributes).toEqual({ table: 'users', schema: 'public', action: 'update', label: 'big' });
    expect(message.groupId).toBe('public.users:7');
    expect(JSON.parse(message.offloaded!.body)).toEqual(JSON.parse(body));
    expect(message.numberAttributes).toEqual({ ExtendedPayloadSize: String(Buffer.byteLength(message.offloaded!.body, 'utf8')) });
    expect(message.body).toBe(
      `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"pgbridge-payloads","s3Key":"${message.offloaded!.key}"}]`,
    );
    expect(message.offloaded!.key).toBe(`42-${createHash('sha256').update(message.offloaded!.body).digest('hex')}.json`);
    // A retry stores the same bytes under the same key; an event reusing the id (after a
    // point-in-time restore) with another body gets a key of its own.
    const retried = buildMessage(event(body, { label: 'big' }), {
      fifo: true,
      maxMessageBytes: 262_144,
      payloadBucket: 'pgbridge-payloads',
    });
    expect(retried.ok && retried.message.offloaded!.key).toBe(message.offloaded!.key);
    const reused = buildMessage(event(body.replace('é', 'e')), {
      fifo: false,
      maxMessageBytes: 262_144,
      payloadBucket: 'pgbridge-payloads',
    });
    expect(reused.ok && reused.message.offloaded!.key).not.toBe(message.offloaded!.key);
    const small = buildMessage(event('{"id":"42"}'), { fifo: false, maxMessageBytes: 262_144, payloadBucket: 'pgbridge-payloads' });
    expect(small).toEqual({
      ok: true,
      truncated: false,
      message: { id: '42', body: '{"id":"42"}', attributes: { table: 'users', schema: 'public', action: 'update' } },
    });
  });

  it('pointers written by the AWS libraries are read: Java 2.x, Java 1.x and Python (also in its legacy mode)', () => {
    const expected = { bucket: 'my-bucket', key: 'prefix/0b6c7f0e-6a1f-4d0e-9a3e-2f1c5d8e7a90' };
    expect(
      parsePayloadPointer(
        '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"my-bucket","s3Key":"prefix/0b6c7f0e-6a1f-4d0e-9a3e-2f1c5d8e7a90"}]',
      ),
    ).toEqual(expected);
    expect(parsePayloadPointer('{"s3BucketName":"my-bucket","s3Key":"prefix/0b6c7f0e-6a1f-4d0e-9a3e-2f1c5d8e7a90"}')).toEqual(expected);
    expect(
      parsePayloadPointer(
        '["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": "my-bucket", "s3Key": "prefix/0b6c7f0e-6a1f-4d0e-9a3e-2f1c5d8e7a90"}]',
      ),
    ).toEqual(expected);
    expect(
      parsePayloadPointer(
        '["com.amazon.sqs.javamessaging.MessageS3Pointer", {"s3BucketName": "my-bucket", "s3Key": "prefix/0b6c7f0e-6a1f-4d0e-9a3e-2f1c5d8e7a90"}]',
      ),
    ).toEqual(expected);
    expect(() => parsePayloadPointer('{"id":"42","row":{}}')).toThrow('its body is not an S3 payload pointer: {"id":"42","row":{}}');
  });

  it('an event AWS can never accept is refused with the reason instead of being sent', () => {
    expect(buildMessage(event('{}', { table_name: 'bad\uFFFFname' }), { fifo: false, maxMessageBytes: 262_144 })).toEqual({
      ok: false,
      reason: 'attribute table contains characters AWS does not accept',
    });
    const hugeKey = event(JSON.stringify({ key: { id: 'k'.repeat(2000) } }), { key: JSON.stringify({ id: 'k'.repeat(2000) }) });
    expect(buildMessage(hugeKey, { fifo: false, maxMessageBytes: 1024 })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('even without the row'),
    });
  });

  it('characters above U+FFFF and U+FFFE/U+FFFF become JSON escapes that parse back to the same text', () => {
    const text = 'smile 😀 and \uFFFE end';
    const escaped = escapeJsonForAws(JSON.stringify({ text }));
    expect(escaped).not.toMatch(/[\u{10000}-\u{10FFFF}\uFFFE]/u);
    expect(JSON.parse(escaped).text).toBe(text);
    expect(isValidAwsText(escaped)).toBe(true);
    expect(isValidAwsText('a\u0001b')).toBe(false);
  });

  it('FIFO group ids AWS would refuse become a stable hash, one per row', () => {
    expect(fifoGroupId('shop', 'orders', '7,3')).toBe('shop.orders:7,3');
    const spaced = fifoGroupId('public', 'my table', 'a b');
    expect(spaced).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fifoGroupId('public', 'my table', 'a b')).toBe(spaced);
    expect(fifoGroupId('public', 'my table', 'a c')).not.toBe(spaced);
    expect(fifoGroupId('public', 't', 'x'.repeat(200))).toMatch(/^sha256:/);
  });
});
