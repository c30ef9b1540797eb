/** The prefix of the queues `npm start` makes for its consumers. */
export const LOCAL_QUEUE_PREFIX = 'pgbridge-demo';

/**
 * The names of a local consumer's queue and dead-letter queue, in one place so that
 * `pgbridge redrive SignupEmail` finds the queues `npm start` made.
 */
export function localConsumerQueueNames(
  consumerId: string,
  { prefix = LOCAL_QUEUE_PREFIX, fifo = false }: { prefix?: string; fifo?: boolean } = {},
): {
  queue: string;
  deadLetterQueue: string;
} {
  const suffix = fifo ? '.fifo' : '';
  return { queue: `${prefix}-${consumerId}${suffix}`, deadLetterQueue: `${prefix}-${consumerId}-dlq${suffix}` };
}
