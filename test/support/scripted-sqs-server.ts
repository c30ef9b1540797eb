import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call as the server saw it. */
export interface ScriptedSqsCall {
  action: string;
  input: Record<string, any>;
  headers: IncomingHttpHeaders;
}

/** How the next message move task behaves, read by every ListMessageMoveTasks. */
export interface MoveTaskScript {
  /** Messages moved per progress read. @default 10 */
  step?: number;
  /** Fails with this reason once this many have moved. */
  failAfter?: { moved: number; reason: string };
  /** Never progresses past this many until cancelled. */
  stallAt?: number;
}

interface ScriptedQueue {
  url: string;
  arn: string;
  messages: number;
  deadLetterOf: string[];
  fifo: boolean;
  maxMessageBytes: number;
  stored: StoredMessage[];
}

/** A message held by the server, for the receive → send → delete path. */
export interface StoredMessage {
  id: string;
  body: string;
  groupId?: string;
  deduplicationId?: string;
  sentAt: number;
  invisibleUntil: number;
  handle?: string;
}

interface ScriptedTask {
  handle: string;
  sourceArn: string;
  destinationArn?: string;
  status: 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  toMove: number;
  moved: number;
  failureReason?: string;
  startedAt: number;
}

/**
 * A real HTTP server speaking the SQS JSON protocol for the calls of a redrive through a message
 * move task (which the emulator lacks): queue lookup, ListDeadLetterSourceQueues and the
 * move-task actions, with tasks that progress, fail or stall as scripted. It also holds messages
 * for the batch path, handing out a FIFO group's messages as AWS does (several of an idle group
 * in one answer), where the emulator gives one per group. Its answers follow
 * AWS's API reference, including that ListMessageMoveTasks names the handle of running tasks only.
 * AWS_ENDPOINT_URL sends CloudFormation calls to the same endpoint, so it also answers
 * DescribeStacks (Query protocol, XML) with the outputs of the stacks it was given.
 */
export class ScriptedSqsServer {
  readonly calls: ScriptedSqsCall[] = [];
  readonly tasks: ScriptedTask[] = [];
  script: MoveTaskScript = {};
  /** False: the move-task actions answer InvalidAction, as on an endpoint without them. */
  moveTasks = true;
  /** Refuses every SendMessageBatch call as a whole with this error (AccessDenied, KmsAccessDenied, ...). */
  refuseSends?: { code: string; message: string };
  /** Stack name → its outputs, for DescribeStacks. */
  readonly stacks = new Map<string, { key: string; value: string; description?: string }[]>();
  private readonly queues = new Map<string, ScriptedQueue>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<ScriptedSqsServer> {
    let scripted: ScriptedSqsServer | undefined;
    const server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => scripted!.answer(String(request.headers['x-amz-target'] ?? ''), body, request.headers, response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    scripted = new ScriptedSqsServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return scripted;
  }

  /** A queue holding `messages` messages; `deadLetterOf` names the queues whose redrive policy points at it. */
  addQueue(
    name: string,
    {
      messages = 0,
      deadLetterOf = [],
      maxMessageBytes = 1_048_576,
    }: { messages?: number; deadLetterOf?: string[]; maxMessageBytes?: number } = {},
  ): { url: string; arn: string } {
    const queue = {
      url: `${this.endpoint}/000000000000/${name}`,
      arn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
      messages,
      deadLetterOf,
      fifo: name.endsWith('.fifo'),
      maxMessageBytes,
      stored: [],
    };
    this.queues.set(name, queue);
    return queue;
  }

  /** Puts messages into a queue as if sent (the queue's count follows). */
  store(name: string, messages: { body: string; groupId?: string }[]): void {
    const queue = this.queues.get(name)!;
    for (const message of messages)
      queue.stored.push({ id: randomUUID(), body: message.body, groupId: message.groupId, sentAt: Date.now() - 1000, invisibleUntil: 0 });
    queue.messages = queue.stored.length;
  }

  /** What a queue holds, in order. */
  stored(name: string): StoredMessage[] {
    return this.queues.get(name)!.stored;
  }

  callsOf(action: string): ScriptedSqsCall[] {
    return this.calls.filter((call) => call.action === action);
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(target: string, body: string, headers: IncomingHttpHeaders, response: ServerResponse): void {
    if (!target) {
      this.answerCloudFormation(new URLSearchParams(body), headers, response);
      return;
    }
    const action = target.replace(/^AmazonSQS\./, '');
    const input = body ? (JSON.parse(body) as Record<string, any>) : {};
    this.calls.push({ action, input, headers });
    const handler = this.moveTasks || !/MessageMoveTask/.test(action) ? this.handlers[action] : undefined;
    if (!handler) {
      reply(response, 400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `Unknown action: ${action}` });
      return;
    }
    const result = handler(input);
    if ('error' in result) reply(response, 400, { __type: `com.amazonaws.sqs#${result.error}`, message: result.message });
    else reply(response, 200, result.ok);
  }

  private readonly handlers: Record<string, (input: Record<string, any>) => { ok: object } | { error: string; message: string }> = {
    GetQueueUrl: (input) => {
      const queue = this.queues.get(input.QueueName);
      return queue ? { ok: { QueueUrl: queue.url } } : { error: 'QueueDoesNotExist', message: 'The specified queue does not exist.' };
    },
    GetQueueAttributes: (input) => {
      const queue = this.byUrl(input.QueueUrl);
      if (!queue) return { error: 'QueueDoesNotExist', message: 'The specified queue does not exist.' };
      return {
        ok: {
          Attributes: {
            QueueArn: queue.arn,
            ApproximateNumberOfMessages: String(queue.messages),
            ApproximateNumberOfMessagesNotVisible: '0',
          },
        },
      };
    },
    ListDeadLetterSourceQueues: (input) => {
      const queue = this.byUrl(input.QueueUrl);
      if (!queue) return { error: 'QueueDoesNotExist', message: 'The specified queue does not exist.' };
      return { ok: { queueUrls: queue.deadLetterOf.map((name) => this.queues.get(name)!.url) } };
    },
    StartMessageMoveTask: (input) => {
      const source = [...this.queues.values()].find((queue) => queue.arn === input.SourceArn);
      if (!source)
        return {
          error: 'ResourceNotFoundException',
          message: 'The resource that you specified for the SourceArn parameter does not exist.',
        };
      const task: ScriptedTask = {
        handle: Buffer.from(`${input.SourceArn}#${this.tasks.length}`).toString('base64'),
        sourceArn: input.SourceArn,
        destinationArn: input.DestinationArn,
        status: 'RUNNING',
        toMove: source.messages,
        moved: 0,
        startedAt: Date.now(),
      };
      this.tasks.unshift(task);
      return { ok: { TaskHandle: task.handle } };
    },
    ListMessageMoveTasks: (input) => {
      const tasks = this.tasks.filter((task) => task.sourceArn === input.SourceArn);
      for (const task of tasks) this.advance(task);
      return {
        ok: {
          Results: tasks.slice(0, input.MaxResults ?? 1).map((task) => ({
            ...(task.status === 'RUNNING' ? { TaskHandle: task.handle } : {}),
            Status: task.status,
            SourceArn: task.sourceArn,
            ...(task.destinationArn ? { DestinationArn: task.destinationArn } : {}),
            ApproximateNumberOfMessagesMoved: task.moved,
            ApproximateNumberOfMessagesToMove: task.toMove,
            ...(task.failureReason ? { FailureReason: task.failureReason } : {}),
            StartedTimestamp: task.startedAt,
          })),
        },
      };
    },
    ReceiveMessage: (input) => {
      const queue = this.byUrl(input.QueueUrl)!;
      const now = Date.now();
      // As on AWS: a FIFO group with a message in flight gives out nothing more; an idle group may give several in one answer.
      const lockedGroups = new Set(queue.stored.filter((message) => message.invisibleUntil > now).map((message) => message.groupId));
      const taken = queue.stored
        .filter((message) => message.invisibleUntil <= now && !(queue.fifo && lockedGroups.has(message.groupId)))
        .slice(0, input.MaxNumberOfMessages ?? 1);
      for (const message of taken) {
        message.invisibleUntil = now + (input.VisibilityTimeout ?? 30) * 1000;
        message.handle = randomUUID();
      }
      return {
        ok: {
          Messages: taken.map((message) => ({
            MessageId: message.id,
            ReceiptHandle: message.handle,
            Body: message.body,
            MD5OfBody: md5(message.body),
            Attributes: { SentTimestamp: String(message.sentAt), ...(message.groupId ? { MessageGroupId: message.groupId } : {}) },
          })),
        },
      };
    },
    SendMessageBatch: (input) => {
      if (this.refuseSends) return { error: this.refuseSends.code, message: this.refuseSends.message };
      const queue = this.byUrl(input.QueueUrl)!;
      const Successful: object[] = [];
      const Failed: object[] = [];
      for (const entry of input.Entries as {
        Id: string;
        MessageBody: string;
        MessageGroupId?: string;
        MessageDeduplicationId?: string;
      }[]) {
        if (Buffer.byteLength(entry.MessageBody) > queue.maxMessageBytes) {
          Failed.push({
            Id: entry.Id,
            SenderFault: true,
            Code: 'InvalidParameterValue',
            Message: `One or more parameters are invalid. Reason: Message must be shorter than ${queue.maxMessageBytes} bytes.`,
          });
          continue;
        }
        const message: StoredMessage = {
          id: randomUUID(),
          body: entry.MessageBody,
          groupId: entry.MessageGroupId,
          deduplicationId: entry.MessageDeduplicationId,
          sentAt: Date.now(),
          invisibleUntil: 0,
        };
        queue.stored.push(message);
        Successful.push({ Id: entry.Id, MessageId: message.id, MD5OfMessageBody: md5(entry.MessageBody) });
      }
      queue.messages = queue.stored.length;
      return { ok: { Successful, Failed } };
    },
    DeleteMessageBatch: (input) => {
      const queue = this.byUrl(input.QueueUrl)!;
      const entries = input.Entries as { Id: string; ReceiptHandle: string }[];
      queue.stored.splice(
        0,
        queue.stored.length,
        ...queue.stored.filter((message) => !entries.some((entry) => entry.ReceiptHandle === message.handle)),
      );
      queue.messages = queue.stored.length;
      return { ok: { Successful: entries.map((entry) => ({ Id: entry.Id })), Failed: [] } };
    },
    ChangeMessageVisibilityBatch: (input) => {
      const queue = this.byUrl(input.QueueUrl)!;
      const entries = input.Entries as { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[];
      for (const entry of entries) {
        const message = queue.stored.find((candidate) => candidate.handle === entry.ReceiptHandle);
        if (message) message.invisibleUntil = Date.now() + entry.VisibilityTimeout * 1000;
      }
      return { ok: { Successful: entries.map((entry) => ({ Id: entry.Id })), Failed: [] } };
    },
    CancelMessageMoveTask: (input) => {
      const task = this.tasks.find((entry) => entry.handle === input.TaskHandle && entry.status === 'RUNNING');
      if (!task) return { error: 'ResourceNotFoundException', message: 'The task handle does not refer to a running task.' };
      task.status = 'CANCELLING';
      return { ok: { ApproximateNumberOfMessagesMoved: task.moved } };
    },
  };

  private answerCloudFormation(form: URLSearchParams, headers: IncomingHttpHeaders, response: ServerResponse): void {
    const action = form.get('Action') ?? '';
    const stackName = form.get('StackName') ?? '';
    this.calls.push({ action, input: Object.fromEntries(form), headers });
    const outputs = this.stacks.get(stackName);
    response.writeHead(outputs && action === 'DescribeStacks' ? 200 : 400, { 'content-type': 'text/xml' });
    if (action !== 'DescribeStacks') {
      response.end(
        `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Unknown action ${xml(action)}</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
      );
    } else if (!outputs) {
      response.end(
        `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xml(stackName)} does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
      );
    } else {
      const members = outputs
        .map(
          (output) =>
            `<member><OutputKey>${xml(output.key)}</OutputKey><OutputValue>${xml(output.value)}</OutputValue>${output.description ? `<Description>${xml(output.description)}</Description>` : ''}</member>`,
        )
        .join('');
      response.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${xml(stackName)}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${xml(stackName)}/1</StackId>` +
          `<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    }
  }

  private advance(task: ScriptedTask): void {
    if (task.status === 'CANCELLING') {
      task.status = 'CANCELLED';
      return;
    }
    if (task.status !== 'RUNNING') return;
    const limit = Math.min(task.toMove, this.script.stallAt ?? Infinity, this.script.failAfter?.moved ?? Infinity);
    task.moved = Math.min(limit, task.moved + (this.script.step ?? 10));
    if (this.script.failAfter && task.moved >= this.script.failAfter.moved) {
      task.status = 'FAILED';
      task.failureReason = this.script.failAfter.reason;
    } else if (task.moved >= task.toMove) {
      task.status = 'COMPLETED';
    }
    const source = [...this.queues.values()].find((queue) => queue.arn === task.sourceArn)!;
    source.messages = task.toMove - task.moved;
  }

  private byUrl(url: string): ScriptedQueue | undefined {
    return [...this.queues.values()].find((queue) => queue.url === url);
  }
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function reply(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
  response.end(JSON.stringify(body));
}
