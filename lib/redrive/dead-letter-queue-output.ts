/**
 * The description of the stack output holding a consumer's dead-letter queue URL. The output's
 * key is made by CDK from the construct path; the description is ours, so `pgbridge redrive
 * NAME --stack STACK` finds the queue by it.
 */
export function deadLetterQueueOutputDescription(consumerId: string): string {
  return `pgbridge dead-letter queue of consumer ${consumerId}`;
}
