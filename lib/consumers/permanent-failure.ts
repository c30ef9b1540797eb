/**
 * Throw this from a change handler when retrying cannot help (the receiver refused the event,
 * the event is malformed): `handleChanges` moves the record to the dead-letter queue at once
 * instead of letting it be received `maxReceiveCount` times.
 */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
