import { App, NestedStack, Stack, Validations } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgBridge } from '../../lib/cdk/pg-bridge.ts';
import { CLOUDFORMATION_RESOURCES_PER_STACK } from '../../lib/cdk/stack-resource-limit.ts';
import { WebhookConsumer } from '../../lib/cdk/webhook-consumer.ts';
import { synthWithAwsSolutionsChecks, type AwsSolutionsResult } from '../support/aws-solutions-synth.ts';

const CONSUMERS = 100;
const PER_STACK = 25;
// A hundred consumers and the checks take about 25 s on a quiet machine.
const SYNTH_TIMEOUT_MS = 180_000;

interface Resource {
  Type: string;
  Properties?: Record<string, any>;
}
type Resources = Record<string, Resource>;

/** An app holding a bridge stack: the caller adds the consumers. Bundling is skipped (templates only). */
function bridgeApp() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const bridgeStack = new Stack(app, 'Bridge');
  const vpc = new ec2.Vpc(bridgeStack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { All: {} } });
  const alarmTopic = new sns.Topic(bridgeStack, 'Alarms', { enforceSSL: true });
  const databaseSecret = new secretsmanager.Secret(bridgeStack, 'DbSecret');
  // The application's own resources: the checks are about the consumers here.
  Validations.of(databaseSecret).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SMG4',
    reason: 'A test database secret that is never deployed.',
  });
  const bridge = new PgBridge(bridgeStack, 'Bridge', {
    vpc,
    database: { host: 'db.internal.example', secret: databaseSecret },
    watches: [{ table: 'orders' }],
    alarmTopic,
  });
  return { app, bridgeStack, bridge };
}

const url = (index: number) => `https://hooks.example.com/orders/${index}`;
const resourcesOf = (assembly: CloudAssembly, stackName: string): Resources =>
  (assembly.getStackByName(stackName).template as { Resources: Resources }).Resources;
const ofType = (resources: Resources, type: string) => Object.values(resources).filter((resource) => resource.Type === type);

describe('a hundred webhook consumers in stacks of their own', () => {
  let bridge: PgBridge;
  let result: AwsSolutionsResult;
  let assembly: CloudAssembly;
  const consumerStacks = Array.from({ length: CONSUMERS / PER_STACK }, (_, index) => `Reactions${index + 1}`);

  beforeAll(() => {
    const built = bridgeApp();
    bridge = built.bridge;
    const stacks = consumerStacks.map((name) => new Stack(built.app, name));
    for (let index = 0; index < CONSUMERS; index++) {
      const scope = stacks[Math.floor(index / PER_STACK)]!;
      // Both forms: the construct with `{ bridge }`, and the bridge's method with `scope`.
      if (index % 2 === 0) new WebhookConsumer(scope, `Orders${index}`, { bridge, url: url(index), filter: { table: 'orders' } });
      else bridge.addWebhookConsumer(`Orders${index}`, { scope, url: url(index), filter: { table: 'orders' } });
    }
    result = synthWithAwsSolutionsChecks(built.app);
    assembly = built.app.synth();
  }, SYNTH_TIMEOUT_MS);

  it('synthesises, passes the AWS Solutions checks, and every stack stays under the 500-resource limit', () => {
    expect(result.failure).toBeUndefined();
    expect(result.unacknowledged).toEqual([]);
    expect(Object.keys(result.resourceCounts).sort()).toEqual(['Bridge', ...consumerStacks].sort());
    for (const [stack, count] of Object.entries(result.resourceCounts))
      expect(count, stack).toBeLessThan(CLOUDFORMATION_RESOURCES_PER_STACK);
    const lambdas = consumerStacks.flatMap((name) => ofType(resourcesOf(assembly, name), 'AWS::Lambda::Function'));
    expect(lambdas).toHaveLength(CONSUMERS);
    expect(lambdas.map((fn) => fn.Properties!.Environment.Variables.PGBRIDGE_WEBHOOK_URL).sort()).toEqual(
      Array.from({ length: CONSUMERS }, (_, index) => url(index)).sort(),
    );
  });

  it('the consumer stacks depend on the bridge stack and never the other way round, so there is no cycle', () => {
    const stackDependencies = (name: string) =>
      assembly
        .getStackByName(name)
        .dependencies.map((dependency) => dependency.id)
        .filter((id) => !id.endsWith('.assets'));
    expect(stackDependencies('Bridge')).toEqual([]);
    for (const name of consumerStacks) expect(stackDependencies(name)).toEqual(['Bridge']);
    expect(ofType(resourcesOf(assembly, 'Bridge'), 'AWS::SQS::Queue')).toEqual([]);
  });

  it('each queue subscribes to the bridge topic across stacks, and only that topic may send to it', () => {
    const topicExport = Object.values((assembly.getStackByName('Bridge').template as { Outputs: Record<string, any> }).Outputs).find(
      (output) => JSON.stringify(output.Value).includes('BridgeTopic'),
    );
    expect(topicExport?.Export?.Name).toBeDefined();
    for (const name of consumerStacks) {
      const resources = resourcesOf(assembly, name);
      const subscriptions = ofType(resources, 'AWS::SNS::Subscription');
      expect(subscriptions).toHaveLength(PER_STACK);
      for (const subscription of subscriptions)
        expect(subscription.Properties!.TopicArn).toEqual({ 'Fn::ImportValue': topicExport.Export.Name });
      const snsSends = ofType(resources, 'AWS::SQS::QueuePolicy')
        .flatMap((policy) => policy.Properties!.PolicyDocument.Statement)
        .filter((statement: any) => statement.Principal?.Service === 'sns.amazonaws.com');
      expect(snsSends).toHaveLength(PER_STACK);
      for (const statement of snsSends)
        expect(statement.Condition.ArnEquals['aws:SourceArn']).toEqual({ 'Fn::ImportValue': topicExport.Export.Name });
    }
  });

  it('encryption needs no key grant across stacks: the topic key is the listener’s alone, and the queues use SQS-managed keys', () => {
    for (const name of consumerStacks) {
      const resources = resourcesOf(assembly, name);
      expect(JSON.stringify(resources)).not.toMatch(/TopicKey|kms:/);
      for (const queue of ofType(resources, 'AWS::SQS::Queue')) expect(queue.Properties!.SqsManagedSseEnabled).toBe(true);
    }
    const bridgeStatements = ofType(resourcesOf(assembly, 'Bridge'), 'AWS::IAM::Policy').flatMap(
      (policy) => policy.Properties!.PolicyDocument.Statement,
    );
    expect(
      bridgeStatements.filter((statement: any) => [statement.Action].flat().some((action: string) => action.startsWith('kms:'))),
    ).toHaveLength(1);
  });

  it('each consumer stack has a dashboard of its own with a row per consumer; the bridge stack’s shows the listener only', () => {
    for (const name of consumerStacks) {
      const dashboards = ofType(resourcesOf(assembly, name), 'AWS::CloudWatch::Dashboard');
      expect(dashboards).toHaveLength(1);
      const body = JSON.stringify(dashboards[0]!.Properties!.DashboardBody);
      expect(body.split('dead-letter queue').length - 1).toBe(PER_STACK);
    }
    const [bridgeDashboard] = ofType(resourcesOf(assembly, 'Bridge'), 'AWS::CloudWatch::Dashboard');
    expect(JSON.stringify(bridgeDashboard!.Properties!.DashboardBody)).not.toContain('dead-letter queue');
  });

  it('every consumer alarm notifies the bridge’s alarm topic and is listed in bridge.alarms', () => {
    // The bridge's five; per consumer queue age, dead-letter depth and age, function errors or throttles.
    expect(bridge.alarms).toHaveLength(5 + 4 * CONSUMERS);
    for (const name of consumerStacks) {
      const alarms = ofType(resourcesOf(assembly, name), 'AWS::CloudWatch::Alarm');
      expect(alarms).toHaveLength(4 * PER_STACK);
      for (const alarm of alarms)
        expect(alarm.Properties!.AlarmActions).toEqual([{ 'Fn::ImportValue': expect.stringContaining('Alarms') }]);
    }
  });
});

describe('a hundred webhook consumers in nested stacks of the bridge stack', () => {
  let result: AwsSolutionsResult;
  let nestedTemplates: Resources[];
  let parent: Resources;

  beforeAll(() => {
    const { app, bridgeStack, bridge } = bridgeApp();
    const nested = Array.from({ length: CONSUMERS / PER_STACK }, (_, index) => new NestedStack(bridgeStack, `Reactions${index + 1}`));
    for (let index = 0; index < CONSUMERS; index++) {
      bridge.addWebhookConsumer(`Orders${index}`, { scope: nested[Math.floor(index / PER_STACK)], url: url(index) });
    }
    result = synthWithAwsSolutionsChecks(app);
    const outdir = app.outdir;
    nestedTemplates = readdirSync(outdir)
      .filter((file) => file.endsWith('.nested.template.json'))
      .map((file) => (JSON.parse(readFileSync(join(outdir, file), 'utf8')) as { Resources: Resources }).Resources);
    parent = (JSON.parse(readFileSync(join(outdir, 'Bridge.template.json'), 'utf8')) as { Resources: Resources }).Resources;
  }, SYNTH_TIMEOUT_MS);

  it('synthesises, passes the AWS Solutions checks, and the parent and every nested stack stay under the limit', () => {
    expect(result.failure).toBeUndefined();
    expect(result.unacknowledged).toEqual([]);
    expect(nestedTemplates).toHaveLength(CONSUMERS / PER_STACK);
    expect(Object.keys(parent).length).toBeLessThan(CLOUDFORMATION_RESOURCES_PER_STACK);
    for (const resources of nestedTemplates) {
      expect(Object.keys(resources).length).toBeLessThan(CLOUDFORMATION_RESOURCES_PER_STACK);
      expect(ofType(resources, 'AWS::Lambda::Function')).toHaveLength(PER_STACK);
    }
    expect(ofType(parent, 'AWS::CloudFormation::Stack')).toHaveLength(CONSUMERS / PER_STACK);
  });

  it('the nested stacks receive the topic as a parameter from the parent', () => {
    for (const resources of nestedTemplates) {
      for (const subscription of ofType(resources, 'AWS::SNS::Subscription'))
        expect(subscription.Properties!.TopicArn).toEqual({ Ref: expect.stringContaining('BridgeTopic') });
    }
    for (const stack of ofType(parent, 'AWS::CloudFormation::Stack')) {
      expect(Object.values(stack.Properties!.Parameters)).toContainEqual({ Ref: expect.stringMatching(/^BridgeTopic/) });
    }
  });
});

describe('too many consumers in one stack', () => {
  it('synth fails naming the stack, its resource count and how to move consumers to another stack', () => {
    const { app, bridge } = bridgeApp();
    for (let index = 0; index < 32; index++) bridge.addWebhookConsumer(`Orders${index}`, { url: url(index) });
    expect(() => app.synth()).toThrow(
      /stack Bridge holds 5\d\d CloudFormation resources, more than the 500 a stack may have[\s\S]*scope: new Stack\(app, 'Reactions'\)/,
    );
  });
});
