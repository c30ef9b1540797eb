import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChangeConsumer } from '../../lib/cdk/change-consumer.ts';
import { PgBridge, type PgBridgeProps } from '../../lib/cdk/pg-bridge.ts';

const AUDIT_HANDLER = fileURLToPath(new URL('./fixtures/audit-handler.ts', import.meta.url));

function synth(props: Partial<PgBridgeProps> = {}, addConsumers?: (bridge: PgBridge) => void) {
  return synthIn(new App(), props, addConsumers);
}

function synthIn(app: App, props: Partial<PgBridgeProps> = {}, addConsumers?: (bridge: PgBridge) => void) {
  const stack = new Stack(app, 'Test');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const database = { host: 'db.internal.example', secret: new secretsmanager.Secret(stack, 'DbSecret') };
  const bridge = new PgBridge(stack, 'Bridge', { vpc, database, watches: [{ table: 'documents' }], ...props });
  addConsumers?.(bridge);
  return {
    stack,
    bridge,
    get template() {
      return Template.fromStack(stack);
    },
  };
}

let template: Template;
let stack: Stack;
let bridge: PgBridge;

beforeAll(() => {
  ({ template, stack, bridge } = synth({}, (bridge) => {
    bridge.addConsumer('Audit', { handler: AUDIT_HANDLER, filter: { table: 'documents' } });
    bridge.addWebhookConsumer('Hook', { url: 'https://hooks.example.com/documents' });
    bridge.addConsumer('OneDocument', { handler: AUDIT_HANDLER, filter: { table: 'documents', body: { key: { id: [7] } } } });
  }));
});

/** Role logical id → the S3 actions its policies allow, and on what. */
function s3Permissions(template: Template): Record<string, { actions: string[]; resource: unknown }[]> {
  const permissions: Record<string, { actions: string[]; resource: unknown }[]> = {};
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      const actions = [statement.Action].flat().filter((action: string) => action.startsWith('s3:'));
      if (actions.length === 0) continue;
      for (const role of policy.Properties.Roles) {
        permissions[role.Ref] ??= [];
        permissions[role.Ref]!.push({ actions, resource: statement.Resource });
      }
    }
  }
  return permissions;
}

describe('the payload bucket of a bridge', () => {
  it('is encrypted, blocks public access, refuses plain HTTP and expires every object after 30 days', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [{ ExpirationInDays: 30, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }],
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('only the listener may store objects, only consumer functions may read them, and nobody may delete or list beyond keys', () => {
    const permissions = s3Permissions(template);
    const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const taskRole = taskDefinition!.Properties.TaskRoleArn['Fn::GetAtt'][0];
    const consumerRoles = Object.values(template.findResources('AWS::Lambda::Function'))
      .filter((fn) => fn.Properties.Handler !== undefined)
      .map((fn) => fn.Properties.Role['Fn::GetAtt'][0]);
    expect(consumerRoles).toHaveLength(3);

    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket'))[0]!;
    const objects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] };
    expect(permissions[taskRole]).toEqual([{ actions: ['s3:PutObject'], resource: objects }]);
    for (const role of consumerRoles) {
      expect(permissions[role]).toEqual([
        { actions: ['s3:GetObject'], resource: objects },
        { actions: ['s3:ListBucket'], resource: { 'Fn::GetAtt': [bucketId, 'Arn'] } },
      ]);
    }
    expect(Object.keys(permissions).sort()).toEqual([taskRole, ...consumerRoles].sort());
  });

  it('the listener is told the bucket name', () => {
    const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket'))[0]!;
    expect(taskDefinition!.Properties.ContainerDefinitions[0].Environment).toContainEqual({
      Name: 'PGBRIDGE_PAYLOAD_BUCKET',
      Value: { Ref: bucketId },
    });
  });

  it('server access logging and the per-object wildcard are cdk-nag decisions recorded with their reasons', () => {
    const acknowledged = (node: { metadata: { type: string }[] }) =>
      JSON.stringify(node.metadata.filter((entry) => entry.type === 'aws:cdk:acknowledged-rules'));
    expect(acknowledged(bridge.payloadBucket!.bucket.node)).toMatch(/AwsSolutions-S1.*expire on their own/);
    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket'))[0]!;
    for (const role of [bridge.taskDefinition.taskRole, (bridge.node.findChild('Audit') as ChangeConsumer).function.role!]) {
      expect(acknowledged(role.node)).toContain(`AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`);
    }
  });

  it("the wildcard acknowledgement names the objects as the grantee's template does, also from another stack", () => {
    const app = new App();
    const { bridge } = synthIn(app);
    const other = new Stack(app, 'Reactions');
    const role = new iam.Role(other, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    bridge.payloadBucket!.grantReadPayloads(role);
    const policy = Object.values(Template.fromStack(other).findResources('AWS::IAM::Policy'))[0]!;
    const objects = policy.Properties.PolicyDocument.Statement[0].Resource;
    expect(objects).toEqual({
      'Fn::Join': ['', [{ 'Fn::ImportValue': expect.stringMatching(/^Test:ExportsOutputFnGetAttBridgePayloadBucket/) }, '/*']],
    });
    const acknowledged = JSON.stringify(role.node.metadata.filter((entry) => entry.type === 'aws:cdk:acknowledged-rules'));
    expect(acknowledged).toContain(`AwsSolutions-IAM5[Resource::${objects['Fn::Join'][1][0]['Fn::ImportValue']}/*]`);
  });

  it('a consumer with a body filter is warned at synth that rows stored in S3 never match it', () => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('its filter matches the message body'));
    expect(warnings.map((warning) => warning.id)).toEqual(['/Test/Bridge/OneDocument']);
  });

  it('payloadBucket: false creates no bucket, grants nothing and leaves large rows truncated', () => {
    const { template } = synth({ payloadBucket: false }, (bridge) => bridge.addConsumer('Audit', { handler: AUDIT_HANDLER }));
    expect(template.findResources('AWS::S3::Bucket')).toEqual({});
    expect(s3Permissions(template)).toEqual({});
    const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const names = taskDefinition!.Properties.ContainerDefinitions[0].Environment.map((variable: { Name: string }) => variable.Name);
    expect(names).not.toContain('PGBRIDGE_PAYLOAD_BUCKET');
  });

  it('the expiry is a prop, in whole days', () => {
    const { template } = synth({ payloadBucket: { expiration: Duration.days(45) } });
    template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 45 })] } });
    expect(() => synth({ payloadBucket: { expiration: Duration.hours(12) } })).toThrow(
      'Test/Bridge/PayloadBucket: invalid props:\n  - expiration must be a whole number of days, at least 1 (got 12 hours)',
    );
  });
});
