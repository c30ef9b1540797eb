import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { batchOutcomes, sdkMessageAttributes, type OutgoingMessage } from '../../lib/sinks/sink.ts';
import { SnsSink } from '../../lib/sinks/sns-sink.ts';
import { ScriptedSnsServer } from '../support/scripted-sns-server.ts';
import { verifySigV4 } from '../support/sigv4-verifier.ts';

// The listener publishes through a hand-built Query-protocol client (lib/aws/) instead of the
// SDK's PublishBatchCommand. Real AWS cannot be reached from here, so these tests hold it to the
// SDK itself: both send to one real HTTP server, which checks the signatures with an
// independent SigV4 implementation and answers both with the same AWS-shaped XML.

interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET, sessionToken: 'session/token+with=odd chars' };
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:orders.fifo';

let server: Server;
let endpoint: string;
let received: ReceivedRequest[] = [];
let answer: { status: number; body: string; headers?: Record<string, string> } = { status: 200, body: '' };

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method!, path: request.url!, headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(answer.status, { 'content-type': 'text/xml', ...answer.headers });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
});

const snsClient = () => new SNSClient({ endpoint, region: 'eu-west-1', credentials, maxAttempts: 1 });

const MESSAGES: OutgoingMessage[] = [
  {
    id: '1001',
    body: '{"row":{"note":"a&b=c+d e!\'()*~"}}',
    attributes: { table: 'orders', schema: 'shop', action: 'insert' },
    groupId: 'shop.orders:1',
  },
  {
    id: '1002',
    body: 'line\nbreak, tab\t, ünïcödé, 𝄞 astral, <xml> & "quotes"',
    attributes: { table: 'orders', schema: 'shop', action: 'update', label: 'vip;orders' },
    groupId: 'shop.orders:2',
  },
];
// A full batch, so that two-digit entry numbers (member.10) are compared too; one entry is an
// offloaded large row, with the Number attribute the extended client libraries read.
const FULL_BATCH: OutgoingMessage[] = [
  ...MESSAGES,
  ...Array.from({ length: 8 }, (_, index) => ({
    id: String(2001 + index),
    body: `{"n":${index},"text":"%20+%2B"}`,
    attributes: { table: 't', action: 'delete' },
    ...(index === 0 ? { numberAttributes: { ExtendedPayloadSize: '2097152' } } : {}),
    groupId: `g:${index}`,
  })),
];

function sdkInput(messages: OutgoingMessage[], fifo: boolean): PublishBatchCommandInput {
  return {
    TopicArn: TOPIC,
    PublishBatchRequestEntries: messages.map((message) => ({
      Id: message.id,
      Message: message.body,
      MessageAttributes: sdkMessageAttributes(message),
      ...(fifo ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.id } : {}),
    })),
  };
}

interface CallFailure {
  name: string;
  message: string;
  $fault?: string;
  $metadata: { httpStatusCode?: number };
}

const failureOf = (call: Promise<unknown>): Promise<CallFailure> =>
  call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as CallFailure,
  );

const formParams = (request: ReceivedRequest) =>
  [...new URLSearchParams(request.body.toString('utf8')).entries()].sort(([a], [b]) => a.localeCompare(b));

const SUCCESS = `<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <PublishBatchResult>
    <Failed/>
    <Successful>
      <member><Id>1001</Id><MessageId>8c5b0a2e-1</MessageId><SequenceNumber>10000000000000001000</SequenceNumber></member>
      <member><MessageId>8c5b0a2e-2</MessageId><Id>1002</Id></member>
    </Successful>
  </PublishBatchResult>
  <ResponseMetadata><RequestId>f3a5c1e0-0000-4000-8000-000000000001</RequestId></ResponseMetadata>
</PublishBatchResponse>`;

const PARTIAL_FAILURE = `<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <PublishBatchResult>
    <Successful>
      <member><Id>1001</Id><MessageId>8c5b0a2e-1</MessageId></member>
    </Successful>
    <Failed>
      <member><Id>1002</Id><Code>InvalidParameter</Code><Message>Invalid parameter: Message &lt;too &amp; odd&gt; &#x2713; &#233;</Message><SenderFault>true</SenderFault></member>
      <member><Id>1003</Id><Code>Throttling</Code><Message>Rate exceeded</Message><SenderFault>true</SenderFault></member>
      <member><Id>1004</Id><Code>InternalError</Code><Message>try again</Message><SenderFault>false</SenderFault></member>
    </Failed>
  </PublishBatchResult>
  <ResponseMetadata><RequestId>f3a5c1e0-0000-4000-8000-000000000002</RequestId></ResponseMetadata>
</PublishBatchResponse>`;

describe('SNS PublishBatch through the Query-protocol client', () => {
  it.each([true, false])('sends the same parameters as the AWS SDK, signed so that AWS accepts it (FIFO: %s)', async (fifo) => {
    answer = { status: 200, body: SUCCESS };
    const client = snsClient();
    await client.send(new PublishBatchCommand(sdkInput(FULL_BATCH, fifo)));
    const topic = fifo ? TOPIC : TOPIC.replace('.fifo', '');
    const sink = new SnsSink(client, topic);
    await sink.publishBatch(fifo ? FULL_BATCH : FULL_BATCH.map(({ groupId: _, ...message }) => message));

    const [bySdk, byPgbridge] = [received[0]!, received.at(-1)!];
    const sdkParams = formParams(bySdk).map(([name, value]) => [name, name === 'TopicArn' ? topic : value]);
    expect(formParams(byPgbridge)).toEqual(sdkParams);
    expect(formParams(byPgbridge).filter(([name]) => name.endsWith('.Id'))).toHaveLength(10);
    expect(byPgbridge.method).toBe(bySdk.method);
    expect(byPgbridge.path).toBe(bySdk.path);
    expect(byPgbridge.headers['content-type']).toBe(bySdk.headers['content-type']);
    expect(byPgbridge.headers['x-amz-security-token']).toBe(credentials.sessionToken);

    for (const request of [bySdk, byPgbridge]) {
      const check = verifySigV4(request, SECRET);
      expect(check).toMatchObject({ valid: true, accessKeyId: credentials.accessKeyId, region: 'eu-west-1', service: 'sns' });
      expect(check.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token']));
    }
    const tampered = { ...byPgbridge, body: Buffer.concat([byPgbridge.body, Buffer.from('&x=1')]) };
    expect(verifySigV4(tampered, SECRET).valid).toBe(false);
  });

  it.each([
    ['all accepted', SUCCESS],
    ['some entries refused', PARTIAL_FAILURE],
  ])('reads the answer as the AWS SDK does: %s', async (_, xml) => {
    answer = { status: 200, body: xml };
    const client = snsClient();
    const sdkResult = await client.send(new PublishBatchCommand(sdkInput(MESSAGES, true)));
    const outcomes = await new SnsSink(client, TOPIC).publishBatch(MESSAGES);
    expect(outcomes).toEqual(batchOutcomes(sdkResult.Successful, sdkResult.Failed));
    expect(outcomes.length).toBeGreaterThan(1);
  });

  it('a refused entry keeps its code and message, and only sender faults that are not throttling are final', async () => {
    answer = { status: 200, body: PARTIAL_FAILURE };
    const outcomes = await new SnsSink(snsClient(), TOPIC).publishBatch(MESSAGES);
    expect(outcomes).toEqual([
      { id: '1001', ok: true },
      { id: '1002', ok: false, retryable: false, code: 'InvalidParameter', message: 'Invalid parameter: Message <too & odd> ✓ é' },
      { id: '1003', ok: false, retryable: true, code: 'Throttling', message: 'Rate exceeded' },
      { id: '1004', ok: false, retryable: true, code: 'InternalError', message: 'try again' },
    ]);
  });

  // The SDK renames modelled codes (NotFound → NotFoundException); pgbridge keeps AWS's wire code.
  it.each([
    [
      400,
      'Throttling',
      'client',
      '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>',
    ],
    [
      404,
      'NotFound',
      'client',
      '<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r-2</RequestId></ErrorResponse>',
    ],
    [
      500,
      'InternalError',
      'server',
      '<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>oops</Message></Error><RequestId>r-3</RequestId></ErrorResponse>',
    ],
    [503, 'Http503', 'server', 'Service Unavailable'],
  ])("a call refused with HTTP %i fails with AWS's error code %s, fault and message", async (status, code, fault, body) => {
    answer = { status, body };
    const client = snsClient();
    const sdkError = await failureOf(client.send(new PublishBatchCommand(sdkInput(MESSAGES, true))));
    const error = await failureOf(new SnsSink(client, TOPIC).publishBatch(MESSAGES));
    expect(error).toMatchObject({ name: code, $fault: fault, $metadata: { httpStatusCode: status } });
    if (body.includes('<Message>')) expect(error).toMatchObject({ $fault: sdkError.$fault, message: sdkError.message });
    else expect(error.message).toBe(body);
  });

  it('an answer that is not a PublishBatch result (a proxy page, an empty body) fails the call instead of dropping entries', async () => {
    answer = { status: 200, body: '<html>captive portal</html>' };
    await expect(new SnsSink(snsClient(), TOPIC).publishBatch(MESSAGES)).rejects.toThrow(/unexpected answer: <html>captive portal/);
  });

  it("after AWS reports the clock as skewed, the next request is signed with AWS's time", async () => {
    const awsTime = new Date(Date.now() + 3_600_000);
    answer = {
      status: 403,
      body: '<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Signature expired</Message></Error></ErrorResponse>',
      headers: { date: awsTime.toUTCString() },
    };
    const sink = new SnsSink(snsClient(), TOPIC);
    await expect(sink.publishBatch(MESSAGES)).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    answer = { status: 200, body: SUCCESS };
    await sink.publishBatch(MESSAGES);
    const signedAt = verifySigV4(received.at(-1)!, SECRET);
    expect(signedAt.valid).toBe(true);
    const amzDate = signedAt.amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
    expect(Math.abs(Date.parse(amzDate) - awsTime.getTime())).toBeLessThan(60_000);
  });

  it("the endpoint and signing region are the SDK client's: a client for another region signs for it", async () => {
    answer = { status: 200, body: SUCCESS };
    const client = new SNSClient({ endpoint, region: 'ap-southeast-2', credentials: { accessKeyId: 'AKID2', secretAccessKey: SECRET } });
    await new SnsSink(client, TOPIC).publishBatch(MESSAGES);
    const check = verifySigV4(received.at(-1)!, SECRET);
    expect(check).toMatchObject({ valid: true, accessKeyId: 'AKID2', region: 'ap-southeast-2', service: 'sns' });
    expect(check.signedHeaders).not.toContain('x-amz-security-token');
  });
});

describe('transient failures', () => {
  let scripted: ScriptedSnsServer;
  beforeAll(async () => {
    scripted = await ScriptedSnsServer.start();
  });
  afterAll(async () => {
    await scripted.stop();
  });
  beforeEach(() => {
    scripted.reset();
  });

  const error = (status: number, type: string, code: string) => ({
    status,
    body: `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>m</Message></Error></ErrorResponse>`,
  });
  const publish = (maxAttempts: number) => new SnsSink(scripted.client(maxAttempts), TOPIC).publishBatch(MESSAGES);

  it.each([
    ['a 5xx', error(500, 'Receiver', 'InternalError')],
    ['throttling', error(400, 'Sender', 'Throttling')],
    ['HTTP 429', { status: 429, body: 'slow down' }],
  ])("%s is tried again within the client's maxAttempts", async (_, answer) => {
    scripted.nextAnswers.push(answer);
    const outcomes = await publish(2);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(scripted.calls).toHaveLength(2);

    scripted.calls.length = 0;
    scripted.nextAnswers.push(answer);
    await expect(publish(1)).rejects.toMatchObject({ $metadata: { httpStatusCode: answer.status } });
    expect(scripted.calls).toHaveLength(1);
  });

  it('a refusal that would be refused again (bad parameter, missing topic, access denied) is not retried', async () => {
    for (const answer of [
      error(400, 'Sender', 'InvalidParameter'),
      error(404, 'Sender', 'NotFound'),
      error(403, 'Sender', 'AuthorizationError'),
    ]) {
      scripted.calls.length = 0;
      scripted.nextAnswers.push(answer);
      await expect(publish(3)).rejects.toMatchObject({ name: answer.body.match(/<Code>(\w+)</)![1] });
      expect(scripted.calls).toHaveLength(1);
    }
  });

  it("a clock 4.5 minutes off is corrected from AWS's Date and the same call succeeds; an answer replayed by a cache (Age) is not trusted", async () => {
    const awsTime = new Date(Date.now() + 270_000).toUTCString();
    const skewed = { ...error(403, 'Sender', 'SignatureDoesNotMatch'), headers: { date: awsTime } };
    scripted.nextAnswers.push({ ...skewed, headers: { ...skewed.headers, age: '10' } });
    await expect(publish(2)).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });

    scripted.nextAnswers.push(skewed);
    const outcomes = await publish(2);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(scripted.calls).toHaveLength(3);
    const signedAt = String(scripted.calls.at(-1)!.headers['x-amz-date']).replace(
      /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
      '$1-$2-$3T$4:$5:$6Z',
    );
    expect(Math.abs(Date.parse(signedAt) - Date.parse(awsTime))).toBeLessThan(60_000);
  });

  it('calls in flight together that all meet the skewed clock are all retried, not only the one that corrected it', async () => {
    const awsTime = new Date(Date.now() - 600_000).toUTCString();
    for (let call = 0; call < 3; call++)
      scripted.nextAnswers.push({ ...error(403, 'Sender', 'SignatureDoesNotMatch'), headers: { date: awsTime } });
    scripted.delayMs = 30;
    const sink = new SnsSink(scripted.client(2), TOPIC);
    const batches = [0, 1, 2].map((call) => MESSAGES.map((entry) => ({ ...entry, id: `${call}${entry.id}` })));
    const results = await Promise.all(batches.map((batch) => sink.publishBatch(batch)));
    expect(results.flat().every((outcome) => outcome.ok)).toBe(true);
    expect(scripted.calls).toHaveLength(6);
  });

  it('an endpoint that is not SNS (a huge answer) fails the call instead of filling memory, without a retry', async () => {
    scripted.nextAnswers.push({ status: 200, body: 'x'.repeat(2 * 1024 * 1024) });
    await expect(publish(2)).rejects.toThrow(/larger than/);
    expect(scripted.calls).toHaveLength(1);
  });
});
