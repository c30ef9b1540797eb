import { App, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgBridgeExampleStack } from '../../lib/cdk/example-stack.ts';
import { synthWithAwsSolutionsChecks, type AwsSolutionsResult } from '../support/aws-solutions-synth.ts';

// Bundling is skipped: the checks read the templates, not the function code.
const testApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

let example: AwsSolutionsResult;

beforeAll(() => {
  const app = testApp();
  new PgBridgeExampleStack(app, 'PgBridgeExample', { fromEmail: 'team@example.com', webhookUrl: 'https://hooks.example.com/orders' });
  example = synthWithAwsSolutionsChecks(app);
});

describe('cdk-nag AWS Solutions checks', () => {
  it('the example app has no finding that is not acknowledged', () => {
    expect(example.unacknowledged).toEqual([]);
    expect(example.failure).toBeUndefined();
  });

  it('the findings that come with the constructs are acknowledged on the resource itself, each with its reason', () => {
    const fromConstructs = example.acknowledged.filter((finding) => finding.path.startsWith('PgBridgeExample/Bridge/'));
    expect(fromConstructs.map(({ rule, path }) => `${rule} at ${path}`).sort()).toEqual(
      [
        'AwsSolutions-ECS2 at PgBridgeExample/Bridge/Task/Resource',
        'AwsSolutions-ECS4 at PgBridgeExample/Bridge/Cluster/Resource',
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*] at PgBridgeExample/Bridge/Task/TaskRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] at PgBridgeExample/Bridge/Installer/Role/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] at PgBridgeExample/Bridge/Task/ExecutionRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::<BridgeInstallerFunction0F442221.Arn>:*] at PgBridgeExample/Bridge/Installer/ProviderRole/DefaultPolicy/Resource',
        'AwsSolutions-L1 at PgBridgeExample/Bridge/Installer/Function/Resource',
        'AwsSolutions-L1 at PgBridgeExample/Bridge/OrderWebhook/Consumer/Function/Resource',
        'AwsSolutions-L1 at PgBridgeExample/Bridge/PlanChangedEmail/Consumer/Function/Resource',
        'AwsSolutions-L1 at PgBridgeExample/Bridge/SignupEmail/Consumer/Function/Resource',
        'AwsSolutions-SMG4 at PgBridgeExample/Bridge/Installer/ListenerSecret/Resource',
        'AwsSolutions-SMG4 at PgBridgeExample/Bridge/OrderWebhook/SigningSecret/Resource',
      ].sort(),
    );
    for (const finding of example.acknowledged)
      expect(finding.reason.length, `reason of ${finding.rule} at ${finding.path}`).toBeGreaterThan(40);
  });

  it('consumer functions get their own log permissions instead of an AWS managed policy', () => {
    expect(example.acknowledged.filter((finding) => finding.rule.startsWith('AwsSolutions-IAM4'))).toEqual([]);
  });

  it('a finding nobody acknowledged fails synth and names its rule and resource', () => {
    const app = testApp();
    const stack = new Stack(app, 'Careless');
    new sqs.Queue(stack, 'PlainQueue');
    const { unacknowledged, failure } = synthWithAwsSolutionsChecks(app);
    expect(unacknowledged).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS3 at Careless/PlainQueue/Resource', 'AwsSolutions-SQS4 at Careless/PlainQueue/Resource']),
    );
    expect(failure).toMatch(/Careless\/PlainQueue\/Resource[\s\S]*AwsSolutions-SQS4/);
  });
});
