import { type CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { ConfigError } from '../errors.ts';
import { deadLetterQueueOutputDescription } from './dead-letter-queue-output.ts';

/** The URL of a consumer's dead-letter queue, from the outputs of the stack that holds the consumer. */
export async function deadLetterQueueFromStack(
  cloudFormation: CloudFormationClient,
  stackName: string,
  consumerId: string,
): Promise<string> {
  let outputs: Output[];
  try {
    const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Stacks[0]?.Outputs ?? [];
  } catch (error) {
    // CloudFormation's answer for an unknown stack: ValidationError "Stack with id X does not exist".
    if ((error as { name?: string }).name === 'ValidationError') throw new ConfigError(`--stack ${stackName}: ${(error as Error).message}`);
    throw error;
  }
  const wanted = deadLetterQueueOutputDescription(consumerId);
  const output = outputs.find((candidate) => candidate.Description === wanted);
  if (output?.OutputValue) return output.OutputValue;
  const prefix = deadLetterQueueOutputDescription('');
  const consumers = outputs.flatMap((candidate) =>
    candidate.Description?.startsWith(prefix) ? [candidate.Description.slice(prefix.length)] : [],
  );
  throw new ConfigError(
    `stack ${stackName} has no consumer "${consumerId}" (${consumers.length > 0 ? `its consumers: ${consumers.join(', ')}` : "it has no pgbridge consumers; a consumer in another stack is found with that stack's name"})`,
  );
}
