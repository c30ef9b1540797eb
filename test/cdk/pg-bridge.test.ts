import { App, type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChangeConsumer } from '../../lib/cdk/change-consumer.ts';
import { PgBridge, type PgBridgeProps } from '../../lib/cdk/pg-bridge.ts';

const AUDIT_HANDLER = fileURLToPath(new URL('./fixtures/audit-handler.ts', import.meta.url));
const WATCHES: PgBridgeProps['watches'] = [
  { table: 'users', actions: ['insert'], label: 'signup' },
  { table: 'users', actions: ['update'], columns: ['plan'], label: 'plan_changed' },
  { table: 'orders', exclude: ['card_token'] },
];

let template: Template;
let bridge: PgBridge;

function baseStack(app = new App()) {
  const stack = new Stack(app, 'Test');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const secret = new secretsmanager.Secret(stack, 'DbSecret');
  const securityGroup = new ec2.SecurityGroup(stack, 'DbSecurityGroup', { vpc });
  return { stack, vpc, database: { host: 'db.internal.example', secret, securityGroup } };
}

beforeAll(() => {
  const { stack, vpc, database } = baseStack();
  bridge = new PgBridge(stack, 'Bridge', { vpc, database, watches: WATCHES });
  bridge.addEmailConsumer('SignupEmail', {
    filter: { table: 'users', label: 'signup' },
    from: 'Team <team@example.com>',
    to: ['team@example.com', '{{row.email}}'],
    subject: 'New signup: {{row.name}}',
    text: '{{row.name}} signed up',
  });
  bridge.addWebhookConsumer('OrderWebhook', {
    filter: { table: 'orders', action: ['insert', 'update'] },
    url: 'https://hooks.example.com/orders',
  });
  bridge.addConsumer('OneOrder', {
    filter: { table: 'orders', body: { key: { id: [42] } } },
    handler: AUDIT_HANDLER,
    batchSize: 5,
    maxConcurrency: 2,
    maxReceiveCount: 3,
  });
  template = Template.fromStack(stack);
});

const resourcesOf = (type: string) => Object.entries(template.findResources(type));
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  Stack.of(bridge).getLogicalId(construct.node.defaultChild as CfnElement);
const ref = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

describe('PgBridge construct', () => {
  it('every consumer queue has its own dead-letter queue, and every dead-letter queue an alarm on its depth', () => {
    const queues = resourcesOf('AWS::SQS::Queue');
    const withRedrive = queues.filter(([, queue]) => queue.Properties.RedrivePolicy);
    expect(withRedrive).toHaveLength(3);
    const deadLetterIds = withRedrive.map(([, queue]) => queue.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0]);
    expect(new Set(deadLetterIds).size).toBe(3);
    expect(queues).toHaveLength(6);

    const alarmedQueues = resourcesOf('AWS::CloudWatch::Alarm')
      .filter(([, alarm]) => alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')
      .map(([, alarm]) => alarm.Properties.Dimensions[0].Value['Fn::GetAtt'][0]);
    expect(alarmedQueues.sort()).toEqual([...deadLetterIds].sort());
    // 3 given; the others follow from the default 24-hour retry window: waits of 10 s doubling to 15 minutes.
    expect(withRedrive.map(([, queue]) => queue.Properties.RedrivePolicy.maxReceiveCount).sort()).toEqual([103, 103, 3]);
  });

  it('subscriptions use raw delivery and the filter policies the props describe', () => {
    const subscriptions = resourcesOf('AWS::SNS::Subscription').map(([, subscription]) => subscription.Properties);
    expect(subscriptions.every((subscription) => subscription.RawMessageDelivery === true && subscription.Protocol === 'sqs')).toBe(true);
    const policies = subscriptions.map((subscription) => ({ policy: subscription.FilterPolicy, scope: subscription.FilterPolicyScope }));
    expect(policies).toEqual(
      expect.arrayContaining([
        // A targeted backfill's events reach only the consumer named by its id; read events only a filter that lists read.
        {
          policy: {
            table: ['users'],
            label: ['signup'],
            action: [{ 'anything-but': ['read'] }],
            $or: [{ target: [{ exists: false }] }, { target: ['SignupEmail'] }],
          },
          scope: 'MessageAttributes',
        },
        {
          policy: { table: ['orders'], action: ['insert', 'update'], $or: [{ target: [{ exists: false }] }, { target: ['OrderWebhook'] }] },
          scope: 'MessageAttributes',
        },
        {
          policy: {
            table: ['orders'],
            key: { id: [42] },
            action: [{ 'anything-but': ['read'] }],
            $or: [{ target: [{ exists: false }] }, { target: ['OneOrder'] }],
          },
          scope: 'MessageBody',
        },
      ]),
    );
    expect(policies).toHaveLength(3);
  });

  it('encrypts the topic with a rotated KMS key and every queue at rest, and refuses plain HTTP', () => {
    const keyId = logicalId(bridge.topicKey);
    expect(template.toJSON().Resources[keyId].Properties.EnableKeyRotation).toBe(true);
    expect(template.toJSON().Resources[logicalId(bridge.topic)].Properties.KmsMasterKeyId).toEqual(ref(keyId));
    for (const [, queue] of resourcesOf('AWS::SQS::Queue')) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const queuePolicies = resourcesOf('AWS::SQS::QueuePolicy').flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
    expect(
      queuePolicies.some((statement: any) => statement.Effect === 'Deny' && statement.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
    ).toBe(true);
  });

  it('the listener may publish to its topic and store large rows only, and only ECS reads the database secret', () => {
    const policies = resourcesOf('AWS::IAM::Policy').map(([, policy]) => policy.Properties);
    const [[, taskDefinition]] = resourcesOf('AWS::ECS::TaskDefinition') as [[string, any]];
    const taskRoleId = taskDefinition.Properties.TaskRoleArn['Fn::GetAtt'][0];
    const taskPolicy = policies.find((policy) => policy.Roles.some((role: any) => role.Ref === taskRoleId));
    const topicId = logicalId(bridge.topic);
    const keyId = logicalId(bridge.topicKey);
    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket'))[0]!;
    expect(taskPolicy.PolicyDocument.Statement).toEqual([
      { Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: topicId } },
      { Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow', Resource: ref(keyId) },
      { Action: 's3:PutObject', Effect: 'Allow', Resource: { 'Fn::Join': ['', [ref(bucketId), '/*']] } },
    ]);

    const secretId = Object.keys(template.findResources('AWS::SecretsManager::Secret')).find((id) => id.startsWith('DbSecret'))!;
    const secretReaders = policies.filter((policy) =>
      policy.PolicyDocument.Statement.some(
        (statement: any) => [statement.Action].flat().includes('secretsmanager:GetSecretValue') && statement.Resource?.Ref === secretId,
      ),
    );
    expect(secretReaders).toHaveLength(1);
    expect(secretReaders[0]!.PolicyName).toMatch(/ExecutionRole/);
  });

  it('the topic policy denies publishing to every principal but the listener task role, so nobody can forge a change', () => {
    const [[, taskDefinition]] = resourcesOf('AWS::ECS::TaskDefinition') as [[string, any]];
    const topicId = logicalId(bridge.topic);
    const statements = resourcesOf('AWS::SNS::TopicPolicy').flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
    const publishDenials = statements.filter(
      (statement: any) => statement.Effect === 'Deny' && [statement.Action].flat().includes('sns:Publish'),
    );
    expect(publishDenials).toContainEqual({
      Sid: 'OnlyTheListenerPublishes',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sns:Publish',
      Resource: { Ref: topicId },
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ref(taskDefinition.Properties.TaskRoleArn['Fn::GetAtt'][0])] } },
    });
    // Subscribing is not publishing: the consumer queues' subscriptions are not denied.
    expect(
      statements.filter(
        (statement: any) => statement.Effect === 'Deny' && [statement.Action].flat().some((action: string) => /Subscribe|\*/.test(action)),
      ),
    ).toEqual([]);
  });

  it('consumer queues and dead-letter queues, with the events in them, are kept when they leave the stack', () => {
    const queues = resourcesOf('AWS::SQS::Queue');
    expect(queues).toHaveLength(6);
    for (const [, queue] of queues) expect([queue.DeletionPolicy, queue.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
  });

  it('no statement grants SNS publish or SES sending on a wildcard resource; SES is limited to the sender', () => {
    const statements = resourcesOf('AWS::IAM::Policy').flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
    const publishOrSend = statements.filter((statement: any) =>
      [statement.Action].flat().some((action: string) => /^sns:Publish$|^ses:/.test(action)),
    );
    expect(publishOrSend.length).toBeGreaterThanOrEqual(2);
    for (const statement of publishOrSend) expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"|:\*"/);
    const ses = publishOrSend.find((statement: any) => [statement.Action].flat().includes('ses:SendEmail'));
    expect(JSON.stringify(ses.Resource)).toContain(':identity/team@example.com');
    expect(JSON.stringify(ses.Resource)).toContain(':identity/example.com');
    expect(ses.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'team@example.com' } });
  });

  it('consumer functions are Node.js 22 on arm64, fed by their queue with partial batch failures', () => {
    const functions = resourcesOf('AWS::Lambda::Function').filter(
      ([, fn]) => fn.Properties.Environment?.Variables?.PGBRIDGE_DEAD_LETTER_QUEUE_URL,
    );
    expect(functions).toHaveLength(3);
    for (const [, fn] of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
    const mappings = resourcesOf('AWS::Lambda::EventSourceMapping').map(([, mapping]) => mapping.Properties);
    expect(mappings).toHaveLength(3);
    for (const mapping of mappings) expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mappings.find((mapping) => mapping.BatchSize === 5)?.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
  });

  it('the webhook reads its signing secret from Secrets Manager at run time, never from its environment', () => {
    const webhook = resourcesOf('AWS::Lambda::Function').find(([, fn]) => fn.Properties.Environment?.Variables?.PGBRIDGE_WEBHOOK_URL)!;
    const variables = webhook[1].Properties.Environment.Variables;
    expect(variables.PGBRIDGE_WEBHOOK_URL).toBe('https://hooks.example.com/orders');
    expect(variables.PGBRIDGE_WEBHOOK_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^BridgeOrderWebhookSigningSecret/) });
    expect(variables.PGBRIDGE_WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe('false');
  });

  it('runs the listener on the smallest Fargate task with its health check, watches and secret fields', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '256',
      Memory: '512',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          HealthCheck: Match.objectLike({ Command: Match.arrayWith(['CMD', 'node']) }),
          Secrets: Match.arrayWith([Match.objectLike({ Name: 'PGUSER' }), Match.objectLike({ Name: 'PGPASSWORD' })]),
          Environment: Match.arrayWith([
            { Name: 'PGHOST', Value: 'db.internal.example' },
            { Name: 'PGBRIDGE_CONFIG_JSON', Value: JSON.stringify({ watches: WATCHES }) },
          ]),
        }),
      ],
    });
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1, LaunchType: 'FARGATE' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5432, ToPort: 5432, IpProtocol: 'tcp' });
  });

  it('the first deploy, before the watched tables exist, waits for them instead of crash-looping into a rollback', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: 'PGBRIDGE_INSTALL_RETRY', Value: 'true' }]) })],
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
    });
  });

  it('alarms when no listener runs and when the outbox backlog ages', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ECS',
      MetricName: 'CPUUtilization',
      Statistic: 'SampleCount',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'pgbridge',
      MetricName: 'OutboxOldestEventAgeSeconds',
      Dimensions: [{ Name: 'Bridge', Value: 'Test-Bridge' }],
      Threshold: 300,
    });
    // The bridge's five and four per consumer.
    expect(bridge.alarms).toHaveLength(5 + 3 * 4);
  });

  it('with a "capture": "wal" watch, alarms when its replication slot keeps too much WAL; without one, has no such alarm', () => {
    expect(bridge.walSlotRetainedAlarm).toBeUndefined();
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'WalSlotRetainedBytes' }, 0);
    const { stack, vpc, database } = baseStack();
    const walBridge = new PgBridge(stack, 'Bridge', {
      vpc,
      database,
      watches: [...WATCHES, { table: 'events', capture: 'wal' }],
      maxWalSlotRetainedBytes: 2 * 2 ** 30,
    });
    const walTemplate = Template.fromStack(stack);
    walTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'pgbridge',
      MetricName: 'WalSlotRetainedBytes',
      Dimensions: [{ Name: 'Bridge', Value: 'Test-Bridge' }],
      Threshold: 2 * 2 ** 30,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(walBridge.alarms).toContain(walBridge.walSlotRetainedAlarm);
  });

  it('a bridge that should be running but reports no metrics is itself an alarm, as are failed SNS deliveries', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'pgbridge',
      MetricName: 'OutboxBacklog',
      Statistic: 'SampleCount',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SNS',
      MetricName: 'NumberOfNotificationsFailed',
      Dimensions: [{ Name: 'TopicName', Value: { 'Fn::GetAtt': [logicalId(bridge.topic), 'TopicName'] } }],
    });
  });

  it('without an alarm topic every alarm notifies a new encrypted topic (alarm and OK), and synth warns that nobody is subscribed', () => {
    const alarmTopicId = logicalId(bridge.alarmTopic as unknown as { node: { defaultChild?: unknown } });
    const alarms = resourcesOf('AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(17);
    for (const [, alarm] of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: alarmTopicId }]);
    const alarmKeyId = template.toJSON().Resources[alarmTopicId].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const keyStatements = template.toJSON().Resources[alarmKeyId].Properties.KeyPolicy.Statement;
    expect(keyStatements).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
    );
    const warnings = Annotations.fromStack(Stack.of(bridge)).findWarning('*', Match.stringLikeRegexp('nobody is subscribed'));
    expect(warnings).toHaveLength(1);
  });

  it('each consumer alarms on its queue age, its dead-letter depth and age (days before SQS deletes them), and function errors or throttles', () => {
    const consumer = bridge.node.findChild('OrderWebhook').node.findChild('Consumer') as ChangeConsumer;
    const queueAge = template.toJSON().Resources[logicalId(consumer.alarms.queueAge)].Properties;
    expect(queueAge).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 900,
      Dimensions: [{ Value: { 'Fn::GetAtt': [logicalId(consumer.queue), 'QueueName'] } }],
    });
    const deadLetterAge = template.toJSON().Resources[logicalId(consumer.alarms.deadLetterAge)].Properties;
    // 14 days of retention, less the retry window spent in the queue (24 hours and a bit), less 3 days of warning.
    expect(deadLetterAge).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 11 * 86400 - consumer.retryWindow.toSeconds(),
      Dimensions: [{ Value: { 'Fn::GetAtt': [logicalId(consumer.deadLetterQueue), 'QueueName'] } }],
    });
    const failing = template.toJSON().Resources[logicalId(consumer.alarms.functionFailing)].Properties;
    expect(
      failing.Metrics.map((metric: any) => metric.MetricStat?.Metric.MetricName)
        .filter(Boolean)
        .sort(),
    ).toEqual(['Errors', 'Throttles']);
    for (const [, queue] of resourcesOf('AWS::SQS::Queue')) expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 86400);
  });

  it('failed records back off in their queue: the function knows its queue and backoff, and email and webhook consumers run at most 2 at a time', () => {
    const consumer = bridge.node.findChild('OrderWebhook').node.findChild('Consumer') as ChangeConsumer;
    const environment = template.toJSON().Resources[logicalId(consumer.function)].Properties.Environment.Variables;
    expect(environment).toMatchObject({
      PGBRIDGE_QUEUE_URL: { Ref: logicalId(consumer.queue) },
      PGBRIDGE_RETRY_FIRST_DELAY_SECONDS: '10',
      PGBRIDGE_RETRY_MAX_DELAY_SECONDS: '900',
    });
    expect(consumer.retryWindow.toSeconds()).toBeGreaterThanOrEqual(24 * 3600);
    const concurrency = resourcesOf('AWS::Lambda::EventSourceMapping').map(
      ([, mapping]) => mapping.Properties.ScalingConfig?.MaximumConcurrency,
    );
    expect(concurrency).toEqual([2, 2, 2]);
  });

  it('the dashboard shows the listener metrics and, per consumer, queue depth and age, dead-letter depth and age, errors, throttles and duration', () => {
    const [[, dashboard]] = resourcesOf('AWS::CloudWatch::Dashboard') as [[string, any]];
    // The body is JSON joined with references (queue names, the region): read them as plain text.
    const parts: unknown[] = dashboard.Properties.DashboardBody['Fn::Join'][1];
    const body = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'ref')).join(''));
    const widgets = body.widgets.filter((widget: any) => widget.type === 'metric');
    // Each metric row is [namespace, name, ...dimensions, options].
    const metricsOf = (title: RegExp) =>
      widgets
        .filter((widget: any) => title.test(widget.properties.title))
        .flatMap((widget: any) => widget.properties.metrics.map((row: any[]) => row[1]));
    expect(new Set(metricsOf(/./))).toEqual(
      new Set([
        'EventsPublished',
        'PublishFailures',
        'OutboxBacklog',
        'OutboxOldestEventAgeSeconds',
        'PublishDelaySeconds',
        'DrainBatchSize',
        'ParkedEvents',
        'NumberOfNotificationsFailed',
        'CPUUtilization',
        'ApproximateNumberOfMessagesVisible',
        'ApproximateAgeOfOldestMessage',
        'Errors',
        'Throttles',
        'Duration',
      ]),
    );
    for (const consumer of ['SignupEmail', 'OrderWebhook', 'OneOrder']) {
      // Titled with the consumer's path (a built-in one's ChangeConsumer is its child `Consumer`).
      const titled = (what: string) => new RegExp(`/${consumer}(/Consumer)?: ${what}$`);
      expect(metricsOf(titled('queue')), consumer).toEqual(['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage']);
      expect(metricsOf(titled('dead-letter queue')), consumer).toEqual([
        'ApproximateNumberOfMessagesVisible',
        'ApproximateAgeOfOldestMessage',
      ]);
      expect(metricsOf(titled('function')), consumer).toEqual(['Errors', 'Throttles', 'Duration']);
    }
  });

  it('template snapshot: resources, filter policies, permissions, listener settings and consumer wiring', () => {
    // What a deployer sees and reviews in a diff, not every CloudFormation property: a change here
    // is a change in what gets created, who may do what, or which events reach whom.
    const counts: Record<string, number> = {};
    for (const resource of Object.values(template.toJSON().Resources as Record<string, { Type: string }>))
      counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
    const subscriptions = resourcesOf('AWS::SNS::Subscription').map(([, subscription]) => ({
      queue: subscription.Properties.Endpoint['Fn::GetAtt'][0],
      filterPolicy: subscription.Properties.FilterPolicy,
      scope: subscription.Properties.FilterPolicyScope,
    }));
    const permissions = Object.fromEntries(
      resourcesOf('AWS::IAM::Policy').map(([, policy]) => [
        policy.Properties.Roles.map((role: { Ref: string }) => role.Ref).join(','),
        policy.Properties.PolicyDocument.Statement,
      ]),
    );
    const [[, taskDefinition]] = resourcesOf('AWS::ECS::TaskDefinition') as [[string, any]];
    const [listener] = taskDefinition.Properties.ContainerDefinitions;
    const consumers = resourcesOf('AWS::Lambda::EventSourceMapping').map(([, mapping]) => {
      const queueId = mapping.Properties.EventSourceArn['Fn::GetAtt'][0];
      const queue = template.toJSON().Resources[queueId].Properties;
      return {
        queue: queueId,
        batchSize: mapping.Properties.BatchSize,
        maxBatchingWindowSeconds: mapping.Properties.MaximumBatchingWindowInSeconds,
        maxConcurrency: mapping.Properties.ScalingConfig?.MaximumConcurrency,
        visibilityTimeoutSeconds: queue.VisibilityTimeout,
        maxReceiveCount: queue.RedrivePolicy.maxReceiveCount,
      };
    });
    expect({
      resources: Object.fromEntries(Object.entries(counts).sort()),
      subscriptions,
      permissions,
      listener: { environment: listener.Environment, secrets: listener.Secrets.map((secret: { Name: string }) => secret.Name) },
      consumers,
    }).toMatchSnapshot();
  });
});

describe('PgBridge options', () => {
  it('a FIFO bridge has a FIFO topic and FIFO consumer queues', () => {
    const { stack, vpc, database } = baseStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    const fifoBridge = new PgBridge(stack, 'Bridge', { vpc, database, watches: WATCHES, fifo: true, listenerCount: 2 });
    const consumer = fifoBridge.addConsumer('Audit', { handler: AUDIT_HANDLER, filter: { table: 'orders' } });
    const fifoTemplate = Template.fromStack(stack);
    fifoTemplate.hasResourceProperties('AWS::SNS::Topic', { FifoTopic: true });
    expect(Object.values(fifoTemplate.findResources('AWS::SQS::Queue')).map((queue) => queue.Properties.FifoQueue)).toEqual([true, true]);
    fifoTemplate.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2 });
    expect(consumer.queue.fifo).toBe(true);
  });

  it('queues can be deleted with the stack when asked to, and other roles can be allowed to publish', () => {
    const { stack, vpc, database } = baseStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    const outsideListener = new iam.Role(stack, 'OutsideListener', { assumedBy: new iam.AccountRootPrincipal() });
    const optionsBridge = new PgBridge(stack, 'Bridge', { vpc, database, watches: WATCHES, publishers: [outsideListener] });
    optionsBridge.addConsumer('Scratch', { handler: AUDIT_HANDLER, queueRemovalPolicy: RemovalPolicy.DESTROY });
    const optionsTemplate = Template.fromStack(stack);
    const queues = Object.values(optionsTemplate.findResources('AWS::SQS::Queue'));
    expect(queues.map((queue) => queue.DeletionPolicy)).toEqual(['Delete', 'Delete']);
    const denial = Object.values(optionsTemplate.findResources('AWS::SNS::TopicPolicy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .find((statement: any) => statement.Sid === 'OnlyTheListenerPublishes');
    const allowed = denial.Condition.ArnNotEquals['aws:PrincipalArn'].map((arn: any) => arn['Fn::GetAtt'][0]);
    expect(allowed).toHaveLength(2);
    expect(allowed).toContain(stack.getLogicalId(outsideListener.node.defaultChild as CfnElement));
  });

  it('a topic key from another stack is granted to the listener without a dependency cycle', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const keyStack = new Stack(app, 'Keys');
    const topicKey = new kms.Key(keyStack, 'TopicKey', { enableKeyRotation: true });
    const { stack, vpc, database } = baseStack(app);
    new PgBridge(stack, 'Bridge', { vpc, database, watches: WATCHES, topicKey });
    const assembly = app.synth();
    const stackDependencies = (name: string) =>
      assembly
        .getStackByName(name)
        .dependencies.map((dependency) => dependency.id)
        .filter((id) => !id.endsWith('.assets'));
    expect(stackDependencies('Test')).toEqual(['Keys']);
    expect(stackDependencies('Keys')).toEqual([]);
    const taskRoleStatements = Object.values((assembly.getStackByName('Test').template as { Resources: Record<string, any> }).Resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties.Roles).includes('TaskRole'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    expect(taskRoleStatements).toContainEqual({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Effect: 'Allow',
      Resource: { 'Fn::ImportValue': expect.stringContaining('TopicKey') },
    });
  });

  it('the README cookbook: alarm emails subscribe to the alarm topic, and a consumer with a 6-hour retry window alarms after 5 minutes of age', () => {
    const { stack, vpc, database } = baseStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    const paged = new PgBridge(stack, 'Bridge', { vpc, database, watches: WATCHES, alarmEmails: ['oncall@example.com'] });
    const orders = paged.addWebhookConsumer('Orders', {
      url: 'https://hooks.example.com/orders',
      retryWindow: Duration.hours(6),
      maxEventAge: Duration.minutes(5),
    });
    const synthesized = Template.fromStack(stack);
    synthesized.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: stack.getLogicalId(paged.alarmTopic.node.defaultChild as CfnElement) },
    });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('nobody is subscribed'))).toEqual([]);
    const queueAge =
      synthesized.toJSON().Resources[stack.getLogicalId(orders.consumer.alarms.queueAge.node.defaultChild as CfnElement)].Properties;
    expect(queueAge.Threshold).toBe(300);
    // 10 s doubling to 15 minutes: 6 hours take 31 receives.
    const queue = synthesized.toJSON().Resources[stack.getLogicalId(orders.consumer.queue.node.defaultChild as CfnElement)].Properties;
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(31);
    expect(orders.consumer.retryWindow.toSeconds()).toBeGreaterThanOrEqual(6 * 3600);
  });

  it('a queue stays invisible to other invocations for six function timeouts plus the batching window', () => {
    const { stack, vpc, database } = baseStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    const windowBridge = new PgBridge(stack, 'Bridge', { vpc, database, watches: WATCHES });
    const consumer = windowBridge.addConsumer('Batched', {
      handler: AUDIT_HANDLER,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(20),
      functionTimeout: Duration.seconds(10),
    });
    const queue = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(consumer.queue.node.defaultChild as CfnElement)];
    expect(queue.Properties.VisibilityTimeout).toBe(6 * 10 + 20);
  });
});

describe('invalid props fail at synth with a message saying what to fix', () => {
  const app = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const build =
    (change: (bridge: PgBridge) => void, props: Partial<PgBridgeProps> = {}) =>
    () => {
      const { stack, vpc, database } = baseStack(app());
      change(new PgBridge(stack, 'Bridge', { vpc, database, watches: WATCHES, ...props }));
    };

  it('invalid watches: the same message as pgbridge.config.json', () => {
    expect(build(() => undefined, { watches: [{ table: 'users', actions: ['upsert' as 'insert'] }] })).toThrow(
      /Bridge: invalid props:\n {2}- watches\[0\] \(users\)\.actions\[0\]: "upsert" is not an action \(insert, update, delete, truncate\)$/,
    );
    expect(build(() => undefined, { watches: [] })).toThrow(/declare at least one watch/);
    expect(build(() => undefined, { watches: [{ table: 'users', when: 'NEW.plan = 1; DROP TABLE users' }] })).toThrow(
      /watches\[0\] \(users\)\.when: a condition is one expression/,
    );
    expect(
      build(() => undefined, {
        watches: [
          { table: 'users', actions: ['insert', 'truncate'], when: "NEW.plan = 'pro'" },
          { table: 'orders', coalesce: '2s' },
        ],
      }),
    ).not.toThrow();
  });

  it('retry settings: a window and a receive count at once, a window SQS retention cannot hold, a backoff beyond the visibility limit', () => {
    expect(
      build((bridge) => bridge.addConsumer('Both', { handler: AUDIT_HANDLER, retryWindow: Duration.hours(2), maxReceiveCount: 4 })),
    ).toThrow(/maxReceiveCount and retryWindow: give one of them/);
    expect(
      build((bridge) => bridge.addWebhookConsumer('Long', { url: 'https://hooks.example.com/x', retryWindow: Duration.days(10) })),
    ).toThrow(/retryWindow cannot exceed 7 days/);
    expect(build((bridge) => bridge.addConsumer('Slow', { handler: AUDIT_HANDLER, maxRetryDelay: Duration.hours(13) }))).toThrow(
      /maxRetryDelay must be between 10 seconds and 12 hours/,
    );
    expect(
      build((bridge) =>
        bridge.addConsumer('Many', { handler: AUDIT_HANDLER, retryWindow: Duration.days(7), maxRetryDelay: Duration.seconds(30) }),
      ),
    ).toThrow(/retryWindow needs \d+ receives, more than the 1000 SQS allows/);
  });

  it('alarm settings: an address that is not one, metrics turned off or too rare for the alarms', () => {
    expect(build(() => undefined, { alarmEmails: ['oncall'] })).toThrow(/alarmEmails: "oncall" is not an email address/);
    expect(build(() => undefined, { listenerEnvironment: { PGBRIDGE_METRICS_INTERVAL_MS: '0' } })).toThrow(
      /PGBRIDGE_METRICS_INTERVAL_MS: "0" would leave minutes without metrics and the listener-not-reporting alarm would fire/,
    );
    expect(build(() => undefined, { listenerEnvironment: { PGBRIDGE_METRICS_INTERVAL_MS: '10000' } })).not.toThrow();
  });

  it('unknown filter field, empty recipients, bad URL, template typo, bad batch settings', () => {
    expect(build((bridge) => bridge.addConsumer('A', { handler: AUDIT_HANDLER, filter: { tabel: 'users' } as never }))).toThrow(
      /Bridge\/A: invalid props:\n\s+- filter: unknown field "tabel"/,
    );
    expect(build((bridge) => bridge.addConsumer('A', { handler: AUDIT_HANDLER, filter: { raw: { color: ['red'] } } }))).toThrow(
      /filter\.raw\.color: pgbridge message attributes have no "color"/,
    );
    expect(build((bridge) => bridge.addEmailConsumer('E', { from: 'team@example.com', to: [], subject: 's', text: 't' }))).toThrow(
      /to cannot be empty/,
    );
    expect(build((bridge) => bridge.addEmailConsumer('E', { from: 'team', to: 'a@example.com', subject: 's', text: 't' }))).toThrow(
      /from: "team" is not an email address/,
    );
    expect(
      build((bridge) =>
        bridge.addEmailConsumer('E', { from: 'a@example.com', to: 'a@example.com', subject: 'Hi {{rows.name}}', text: 't' }),
      ),
    ).toThrow(/subject: "\{\{rows\.name\}\}": unknown field "rows"/);
    expect(build((bridge) => bridge.addWebhookConsumer('W', { url: 'hooks.example.com/x' }))).toThrow(
      /url: "hooks\.example\.com\/x" is not a URL/,
    );
    expect(build((bridge) => bridge.addWebhookConsumer('W', { url: 'ftp://example.com' }))).toThrow(/must start with https:\/\//);
    expect(build((bridge) => bridge.addWebhookConsumer('W', { url: 'https://example.com', timeout: Duration.seconds(60) }))).toThrow(
      /timeout \(60 s\) must be shorter than functionTimeout \(30 s\)/,
    );
    expect(build((bridge) => bridge.addConsumer('A', { handler: AUDIT_HANDLER, batchSize: 100 }))).toThrow(
      /batchSize 100 needs maxBatchingWindow/,
    );
    expect(build((bridge) => bridge.addConsumer('A', { handler: '/nowhere/handler.ts' }))).toThrow(
      /handler: file \/nowhere\/handler\.ts does not exist/,
    );
    expect(build(() => undefined, { listenerCount: 3 as 2 })).toThrow(/listenerCount must be 1 or 2/);
  });

  it('FIFO bridges: at most 10 records per batch and no batching window, without suggesting one', () => {
    const fifo = { fifo: true };
    const tooBig = build((bridge) => bridge.addConsumer('A', { handler: AUDIT_HANDLER, batchSize: 11 }), fifo);
    expect(tooBig).toThrow(/batchSize 11: a FIFO bridge delivers at most 10 records per batch/);
    expect(tooBig).not.toThrow(/needs maxBatchingWindow/);
    expect(build((bridge) => bridge.addConsumer('A', { handler: AUDIT_HANDLER, maxBatchingWindow: Duration.seconds(5) }), fifo)).toThrow(
      /maxBatchingWindow is not available on a FIFO bridge/,
    );
    expect(build((bridge) => bridge.addConsumer('A', { handler: AUDIT_HANDLER, batchSize: 10 }), fifo)).not.toThrow();
    expect(
      build((bridge) => bridge.addConsumer('A', { handler: AUDIT_HANDLER, batchSize: 100, maxBatchingWindow: Duration.minutes(6) })),
    ).toThrow(/maxBatchingWindow cannot exceed 5 minutes/);
  });
});
