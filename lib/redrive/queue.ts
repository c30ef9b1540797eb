/** A queue as the redrive needs it: its URL for the data calls, its ARN for move tasks and redrive policies. */
export interface Queue {
  url: string;
  arn: string;
  fifo: boolean;
}

export function queueName(queue: { url: string }): string {
  return queue.url.slice(queue.url.lastIndexOf('/') + 1);
}
