/**
 * `pgbridge redrive` where the endpoint runs SQS message move tasks (AWS): against a real HTTP
 * server speaking the SQS JSON protocol with scripted tasks, since the emulator has none.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deadLetterQueueOutputDescription } from '../../lib/redrive/dead-letter-queue-output.ts';
import { runCli } from '../support/cli-process.ts';
import { ScriptedSqsServer } from '../support/scripted-sqs-server.ts';

let sqs: ScriptedSqsServer;

beforeAll(async () => {
  sqs = await ScriptedSqsServer.start();
});

afterAll(async () => {
  await sqs?.stop();
});

beforeEach(() => {
  sqs.script = {};
  sqs.calls.length = 0;
});

const pgbridge = (...args: string[]) => runCli(args, { AWS_ENDPOINT_URL: sqs.endpoint });
let counter = 0;

/** A queue and its dead-letter queue holding `messages` messages, under fresh names. */
function consumerQueues(messages: number, fifo = false) {
  const name = `orders-${++counter}`;
  const suffix = fifo ? '.fifo' : '';
  const queue = sqs.addQueue(`${name}${suffix}`);
  const deadLetter = sqs.addQueue(`${name}-dlq${suffix}`, { messages, deadLetterOf: [`${name}${suffix}`] });
  return { queue, deadLetter, names: { queue: `${name}${suffix}`, deadLetter: `${name}-dlq${suffix}` } };
}

describe('pgbridge redrive through an SQS message move task', () => {
  it('lets SQS move the messages to the queue whose redrive policy names the dead-letter queue, with progress until it completes', async () => {
    const { queue, deadLetter, names } = consumerQueues(25);

    const result = await pgbridge('redrive', names.deadLetter);

    expect(result).toMatchObject({
      code: 0,
      stdout: `moved 25 message(s) from ${names.deadLetter} to ${names.queue} (StartMessageMoveTask)\n`,
    });
    expect(result.stderr).toContain('redrive: 25 of ~25 moved');
    expect(sqs.callsOf('StartMessageMoveTask').map((call) => call.input)).toEqual([
      { SourceArn: deadLetter.arn, DestinationArn: queue.arn },
    ]);
    expect(sqs.callsOf('ReceiveMessage')).toEqual([]);
    expect(sqs.callsOf('StartMessageMoveTask')[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=/);
  });

  it("passes --rate to SQS as the task's messages per second", async () => {
    const { names } = consumerQueues(5);
    expect((await pgbridge('redrive', names.deadLetter, '--rate', '50')).code).toBe(0);
    expect(sqs.callsOf('StartMessageMoveTask')[0]!.input).toMatchObject({ MaxNumberOfMessagesPerSecond: 50 });
  });

  it('uses the move task for a FIFO dead-letter queue too, as SQS has supported since 2023', async () => {
    const { names } = consumerQueues(3, true);
    const result = await pgbridge('redrive', names.deadLetter);
    expect(result.stdout).toBe(`moved 3 message(s) from ${names.deadLetter} to ${names.queue} (StartMessageMoveTask)\n`);
  });

  it('--dry-run names the move task and starts none', async () => {
    const { names } = consumerQueues(0);
    const result = await pgbridge('redrive', names.deadLetter, '--dry-run');
    expect(result).toMatchObject({
      code: 0,
      stdout: `dry run: 0 message(s) in ${names.deadLetter} would move to ${names.queue} (StartMessageMoveTask)\n`,
    });
    expect(sqs.callsOf('StartMessageMoveTask')).toEqual([]);
  });

  it("a move task that fails: exit 1 with SQS's reason and how many moved", async () => {
    const { names } = consumerQueues(30);
    sqs.script = { failAfter: { moved: 20, reason: 'AWS.SimpleQueueService.KmsAccessDenied' } };

    const result = await pgbridge('redrive', names.deadLetter);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      `moved 20 message(s) from ${names.deadLetter} to ${names.queue} (StartMessageMoveTask)\n` +
        `the move task failed: AWS.SimpleQueueService.KmsAccessDenied; what was not moved is still in ${names.deadLetter}\n`,
    );
  });

  it('a move task already running on the dead-letter queue: exit 1 naming it, none started', async () => {
    const { names } = consumerQueues(100);
    sqs.script = { stallAt: 40 };
    const first = stoppableRedrive(names.deadLetter);
    await first.progressed;

    const second = await pgbridge('redrive', names.deadLetter);

    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /a message move task is already running on orders-\d+-dlq \(\d+ of 100 moved\): wait for it to finish or cancel it \(aws sqs cancel-message-move-task --task-handle \S+\)/,
    );
    expect(sqs.callsOf('StartMessageMoveTask')).toHaveLength(1);
    first.child.kill('SIGINT');
    await first.exited;
  });

  it('Ctrl-C cancels the move task, waits until SQS says it stopped, and reports what moved (exit 130)', async () => {
    const { names } = consumerQueues(100);
    sqs.script = { stallAt: 40 };
    const run = stoppableRedrive(names.deadLetter);
    await run.progressed;

    run.child.kill('SIGINT');
    const { code, stdout, stderr } = await run.exited;

    expect(code).toBe(130);
    expect(stderr).toContain('cancelling the move task (Ctrl-C again to quit at once)');
    expect(sqs.callsOf('CancelMessageMoveTask')).toHaveLength(1);
    const task = sqs.tasks[0]!;
    expect(task).toMatchObject({ status: 'CANCELLED', toMove: 100 });
    expect(stdout).toBe(
      `moved ${task.moved} message(s) from ${names.deadLetter} to ${names.queue} (StartMessageMoveTask)\ninterrupted: what was not moved is still in ${names.deadLetter}\n`,
    );
  });
});

describe('pgbridge redrive CONSUMER --stack STACK', () => {
  it("finds the consumer's dead-letter queue among the stack's outputs", async () => {
    const { names, deadLetter } = consumerQueues(5);
    sqs.stacks.set('Shop', [
      { key: 'BridgeTopicArn1A2B3C4D', value: 'arn:aws:sns:us-east-1:000000000000:shop' },
      {
        key: 'BridgeSignupEmailDeadLetterQueueUrl5E6F7A8B',
        value: deadLetter.url,
        description: deadLetterQueueOutputDescription('SignupEmail'),
      },
    ]);

    const result = await pgbridge('redrive', 'SignupEmail', '--stack', 'Shop');

    expect(result).toMatchObject({
      code: 0,
      stdout: `moved 5 message(s) from ${names.deadLetter} to ${names.queue} (StartMessageMoveTask)\n`,
    });
    expect(sqs.callsOf('DescribeStacks').map((call) => call.input.StackName)).toEqual(['Shop']);
  });

  it('an unknown stack or consumer: exit 2, naming the consumers the stack has', async () => {
    const { deadLetter } = consumerQueues(1);
    sqs.stacks.set('Reactions', [
      { key: 'OrdersDeadLetterQueueUrl', value: deadLetter.url, description: deadLetterQueueOutputDescription('OrderWebhook') },
    ]);

    expect(await pgbridge('redrive', 'SignupEmail', '--stack', 'Nope')).toMatchObject({
      code: 2,
      stderr: 'pgbridge: --stack Nope: Stack with id Nope does not exist\n',
    });
    expect(await pgbridge('redrive', 'SignupEmail', '--stack', 'Reactions')).toMatchObject({
      code: 2,
      stderr: 'pgbridge: stack Reactions has no consumer "SignupEmail" (its consumers: OrderWebhook)\n',
    });
    expect(sqs.callsOf('StartMessageMoveTask')).toEqual([]);
  });
});

const CLI = fileURLToPath(new URL('../../bin/pgbridge.ts', import.meta.url));

/** `pgbridge redrive` in its own process, resolving `progressed` at its first progress line. */
function stoppableRedrive(deadLetterQueue: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'redrive', deadLetterQueue], {
    env: { ...process.env, AWS_ENDPOINT_URL: sqs.endpoint },
  });
  let stdout = '';
  let stderr = '';
  let onProgress: () => void;
  const progressed = new Promise<void>((resolve) => (onProgress = resolve));
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.includes('redrive: ')) onProgress();
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, progressed, exited };
}
