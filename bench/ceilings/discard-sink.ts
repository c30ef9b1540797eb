import type { EntryOutcome, OutgoingMessage, Sink } from '../../lib/sinks/sink.ts';

/**
 * Accepts every message and sends nothing: with it, the listener's rate is what the listener
 * and its queries can move, whatever the queue service can take.
 */
export class DiscardSink implements Sink {
  readonly description = 'discard';
  readonly maxMessageBytes = 262_144;
  readonly maxBatchBytes = 262_144;
  readonly maxBatchEntries = 10;

  constructor(readonly fifo: boolean) {}

  async publishBatch(messages: OutgoingMessage[]): Promise<EntryOutcome[]> {
    return messages.map((message) => ({ id: message.id, ok: true }));
  }
}
