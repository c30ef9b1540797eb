import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SQSClient } from '@aws-sdk/client-sqs';
import { regionFromQueueUrl } from '../sinks/create-sink.ts';

/**
 * The AWS clients of `pgbridge redrive`: AWS_ENDPOINT_URL and AWS_REGION as everywhere (else the
 * region a queue URL names). An emulator on this machine gets placeholder credentials when none
 * are set, so `npm start`'s queues need nothing else; any other endpoint uses the normal chain.
 */
export function redriveClient(env: NodeJS.ProcessEnv, queueReference: string): SQSClient {
  return new SQSClient(clientConfig(env, queueReference));
}

/** For `--stack`: the same endpoint, region and credentials. */
export function stackOutputsClient(env: NodeJS.ProcessEnv): CloudFormationClient {
  return new CloudFormationClient(clientConfig(env, ''));
}

function clientConfig(env: NodeJS.ProcessEnv, queueReference: string) {
  const endpoint = env.AWS_ENDPOINT_URL;
  const local = endpoint !== undefined && /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/.test(endpoint);
  return {
    region: env.AWS_REGION ?? regionFromQueueUrl(queueReference) ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(local && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  };
}
