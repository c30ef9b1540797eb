import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { RedrivePlan } from '../../lib/redrive/redrive.ts';
import type { RedriveProgress, RedriveResult } from '../../lib/redrive/redrive-progress.ts';
import { queueName } from '../../lib/redrive/queue.ts';
import { type Command, InvalidArgumentError } from 'commander';
import { nonNegativeInteger, positiveInteger } from './options.ts';

/** SQS's range for a move task's MaxNumberOfMessagesPerSecond; the batch path keeps to it too. */
const MAX_RATE = 500;

/** Exit code of a command stopped by Ctrl-C, as shells report it. */
const INTERRUPTED = 130;

interface RedriveFlags {
  to?: string;
  stack?: string;
  dryRun?: boolean;
  sample: number;
  rate?: number;
}

export function addRedriveCommand(program: Command): void {
  program
    .command('redrive')
    .description(
      'move the messages of a dead-letter queue back to its queue (SQS message move task, or receive/send/delete where the endpoint lacks it)',
    )
    .argument('<dlq>', "the dead-letter queue: URL, ARN, queue name, or an npm start consumer's name (SignupEmail)")
    .option(
      '--stack <name>',
      "the <dlq> argument is a consumer's id in this CloudFormation stack: its dead-letter queue is read from the stack's outputs",
    )
    .option(
      '--to <queue>',
      'where the messages go (URL, ARN, name or consumer name); default: the queue whose redrive policy names the dead-letter queue',
    )
    .option(
      '--rate <n>',
      'at most this many messages a second on average (1-500), not to flood a consumer that just recovered',
      messageRate,
    )
    .option('--dry-run', 'show how many messages would move, where, and a sample; move nothing')
    .option('--sample <n>', 'messages shown by --dry-run', nonNegativeInteger, 3)
    .action(async (deadLetterQueue: string, flags: RedriveFlags) => {
      // Loaded on use: the AWS SDK would make every other command and --help start slower.
      const { planRedrive } = await import('../../lib/redrive/redrive.ts');
      const { redriveClient } = await import('../../lib/redrive/redrive-client.ts');
      const source = flags.stack ? await deadLetterQueueOfStack(flags.stack, deadLetterQueue) : deadLetterQueue;
      const sqs = redriveClient(process.env, source);
      try {
        const plan = await planRedrive(sqs, source, flags.to);
        if (flags.dryRun) await printDryRun(sqs, plan, flags.sample);
        else printResult(plan, await runRedrive(sqs, plan, flags.rate));
      } finally {
        sqs.destroy();
      }
    });
}

function messageRate(value: string): number {
  const rate = positiveInteger(value);
  if (rate > MAX_RATE) throw new InvalidArgumentError(`expected at most ${MAX_RATE} (the most SQS moves a second)`);
  return rate;
}

async function deadLetterQueueOfStack(stackName: string, consumerId: string): Promise<string> {
  const { stackOutputsClient } = await import('../../lib/redrive/redrive-client.ts');
  const { deadLetterQueueFromStack } = await import('../../lib/redrive/stack-outputs.ts');
  const cloudFormation = stackOutputsClient(process.env);
  try {
    return await deadLetterQueueFromStack(cloudFormation, stackName, consumerId);
  } finally {
    cloudFormation.destroy();
  }
}

async function printDryRun(sqs: SQSClient, plan: RedrivePlan, sampleSize: number): Promise<void> {
  const { sampleMessages } = await import('../../lib/redrive/redrive.ts');
  console.log(
    `dry run: ${plan.waiting} message(s) in ${queueName(plan.from)} would move to ${queueName(plan.to)} (${plan.method})` +
      (plan.inFlight > 0 ? `; ${plan.inFlight} more are being received by someone else and would stay` : ''),
  );
  if (sampleSize === 0 || plan.waiting === 0) return;
  const sample = await sampleMessages(sqs, plan.from, sampleSize);
  console.log(`sample (${sample.length}):`);
  for (const message of sample) console.log(JSON.stringify(describeMessage(message)));
}

/** Runs the redrive with a progress line on stderr; the first Ctrl-C stops after the batch in flight, a second one at once. */
async function runRedrive(sqs: SQSClient, plan: RedrivePlan, maxPerSecond: number | undefined): Promise<RedriveResult> {
  const { redrive } = await import('../../lib/redrive/redrive.ts');
  const stop = new AbortController();
  const stopping = plan.method === 'StartMessageMoveTask' ? 'cancelling the move task' : 'stopping after the batch in flight';
  const onSignal = () => {
    process.stderr.write(`\n${stopping} (Ctrl-C again to quit at once)\n`);
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = progressLine();
  try {
    const result = await redrive(sqs, plan, { maxPerSecond, signal: stop.signal, onProgress: progress.update });
    progress.end(result);
    return result;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** At most one line a second (rewritten in place on a terminal), and the last one always. */
function progressLine(): { update(progress: RedriveProgress): void; end(progress: RedriveProgress): void } {
  const terminal = process.stderr.isTTY;
  let shownAt = 0;
  let shown = '';
  const write = (progress: RedriveProgress) => {
    // SQS counts approximately: past its count, the count says nothing.
    const of = progress.moved <= progress.total ? ` of ~${progress.total}` : '';
    const rejected = progress.rejected.length > 0 ? `, ${progress.rejected.length} rejected` : '';
    const line = `redrive: ${progress.moved}${of} moved${rejected}`;
    if (line !== shown) process.stderr.write(`${terminal ? '\r\x1b[K' : ''}${line}${terminal ? '' : '\n'}`);
    shown = line;
    shownAt = Date.now();
  };
  return {
    update: (progress) => {
      if (Date.now() - shownAt >= 1000) write(progress);
    },
    end: (progress) => {
      write(progress);
      if (terminal) process.stderr.write('\n');
    },
  };
}

function printResult(plan: RedrivePlan, result: RedriveResult): void {
  const from = queueName(plan.from);
  const to = queueName(plan.to);
  console.log(`moved ${result.moved} message(s) from ${from} to ${to} (${result.method})`);
  for (const refusal of result.rejected) {
    console.log(`rejected by ${to}, still in ${from}: message ${refusal.messageId}: ${refusal.code}: ${refusal.message}`);
  }
  if (result.heldBack > 0)
    console.log(`held back ${result.heldBack} message(s) behind a rejected one of their FIFO group, still in ${from}`);
  if (result.notDeleted > 0) {
    console.log(
      `${result.notDeleted} message(s) reached ${to} but could not be deleted from ${from}: a second redrive would deliver them twice`,
    );
  }
  if (result.failure) console.log(`the move task failed: ${result.failure}; what was not moved is still in ${from}`);
  if (result.interrupted) console.log(`interrupted: what was not moved is still in ${from}`);
  process.exitCode = result.interrupted ? INTERRUPTED : result.failure || result.rejected.length > 0 || result.notDeleted > 0 ? 1 : 0;
}

function describeMessage(message: Message): object {
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue ?? `(${value.DataType})`]),
  );
  const system = message.Attributes ?? {};
  return {
    messageId: message.MessageId,
    receiveCount: Number(system.ApproximateReceiveCount ?? 0),
    sentAt: system.SentTimestamp ? new Date(Number(system.SentTimestamp)).toISOString() : undefined,
    ...(system.MessageGroupId ? { groupId: system.MessageGroupId } : {}),
    attributes,
    body: message.Body,
  };
}
