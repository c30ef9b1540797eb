import { describe, expect, it } from 'vitest';
import { readListenerSettings } from '../../functions/listener/listener-settings.ts';

describe('listener settings', () => {
  it('a payload bucket that is not an S3 bucket name fails at start, naming the value', () => {
    expect(() => readListenerSettings({ PGBRIDGE_PAYLOAD_BUCKET: 'My_Payloads' })).toThrow(
      'PGBRIDGE_PAYLOAD_BUCKET: "My_Payloads" is not an S3 bucket name (3-63 characters: a-z, 0-9, dots and hyphens)',
    );
    expect(readListenerSettings({ PGBRIDGE_PAYLOAD_BUCKET: 'pgbridge-payloads.eu' }).PGBRIDGE_PAYLOAD_BUCKET).toBe('pgbridge-payloads.eu');
    expect(readListenerSettings({}).PGBRIDGE_PAYLOAD_BUCKET).toBeUndefined();
  });
});
