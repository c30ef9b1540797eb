import { createHash } from 'node:crypto';

// AWS: 1-128 characters, a-z A-Z 0-9 and punctuation; anything else rejects the entry.
const VALID_GROUP_ID = /^[\x21-\x7E]{1,128}$/;

/**
 * `schema.table:key` (composite keys comma-joined), the unit of ordering on FIFO topics and
 * queues. Names or keys AWS would refuse (spaces, non-ASCII, too long) become a SHA-256 of the
 * same text: still one group per row, still ordered.
 */
export function fifoGroupId(schema: string, table: string, keyValues: string | null): string {
  const natural = `${schema}.${table}:${keyValues ?? ''}`;
  if (VALID_GROUP_ID.test(natural)) return natural;
  return `sha256:${createHash('sha256').update(natural).digest('hex')}`;
}
