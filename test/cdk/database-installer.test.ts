import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgBridgeExampleStack } from '../../lib/cdk/example-stack.ts';
import { PgBridge, type PgBridgeProps } from '../../lib/cdk/pg-bridge.ts';

const WATCHES: PgBridgeProps['watches'] = [{ table: 'users', actions: ['insert'], label: 'signup' }, { table: 'orders' }];
const SETUP_SQL = 'CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY);';

function bridgeStack(props: Partial<PgBridgeProps> = {}, app = new App({ context: { 'aws:cdk:bundling-stacks': [] } })) {
  const stack = new Stack(app, 'Test');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const secret = new secretsmanager.Secret(stack, 'MasterSecret');
  const securityGroup = new ec2.SecurityGroup(stack, 'DbSecurityGroup', { vpc });
  const bridge = new PgBridge(stack, 'Bridge', {
    vpc,
    database: { host: 'db.internal.example', databaseName: 'app', secret, securityGroup },
    watches: WATCHES,
    installer: { setupSql: SETUP_SQL },
    ...props,
  });
  return { app, stack, bridge, template: Template.fromStack(stack) };
}

let template: Template;
let bridge: PgBridge;
let stack: Stack;
const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);

beforeAll(() => {
  ({ template, bridge, stack } = bridgeStack());
});

/** Logical ids of the roles whose policies allow GetSecretValue on the secret `secretId`. */
function readersOf(secretId: string): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      policy.Properties.PolicyDocument.Statement.some(
        (statement: any) =>
          [statement.Action].flat().includes('secretsmanager:GetSecretValue') &&
          JSON.stringify(statement.Resource).includes(`"${secretId}"`),
      ),
    )
    .flatMap((policy) => policy.Properties.Roles.map((role: { Ref: string }) => role.Ref))
    .sort();
}

describe('PgBridge with the deploy-time installer', () => {
  it('the listener connects with the listener role secret only and does not install', () => {
    const [container] = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0]!.Properties.ContainerDefinitions;
    const listenerSecretId = idOf(bridge.installer!.listenerSecret);
    expect(container.Secrets.map((secret: any) => [secret.Name, secret.ValueFrom['Fn::Join'][1][0]])).toEqual([
      ['PGUSER', { Ref: listenerSecretId }],
      ['PGPASSWORD', { Ref: listenerSecretId }],
    ]);
    expect(container.Environment).toContainEqual({ Name: 'PGBRIDGE_NO_INSTALL', Value: 'true' });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        SecretStringTemplate: JSON.stringify({ username: 'pgbridge_listener' }),
        GenerateStringKey: 'password',
        ExcludePunctuation: true,
        PasswordLength: 32,
      },
    });
  });

  it('only the installer function reads the master secret; the listener secret is read by the installer and by ECS for the listener', () => {
    const installerRole = stack.getLogicalId(bridge.installer!.function.role!.node.defaultChild as never);
    const executionRole = stack.getLogicalId(bridge.taskDefinition.executionRole!.node.defaultChild as never);
    const masterSecretId = Object.keys(template.findResources('AWS::SecretsManager::Secret')).find((id) => id.startsWith('MasterSecret'))!;
    expect(readersOf(masterSecretId)).toEqual([installerRole]);
    expect(readersOf(idOf(bridge.installer!.listenerSecret))).toEqual([installerRole, executionRole].sort());
  });

  it('the custom resource carries the watches and secret ARNs, never a password, and the listener service waits for it', () => {
    const [[resourceId, resource]] = Object.entries(template.findResources('Custom::PgBridgeInstaller')) as [[string, any]];
    const { ServiceToken, ...properties } = resource.Properties;
    expect(ServiceToken).toBeDefined();
    expect(properties).toEqual({
      Host: 'db.internal.example',
      Port: '5432',
      DatabaseName: 'app',
      SslMode: 'verify-full',
      OwnerSecretArn: { Ref: expect.stringMatching(/^MasterSecret/) },
      ListenerSecretArn: { Ref: idOf(bridge.installer!.listenerSecret) },
      ListenerRoleName: 'pgbridge_listener',
      WatchesJson: JSON.stringify(WATCHES),
      SetupSql: SETUP_SQL,
    });
    // No secret value written into the template, nor a dynamic reference that CloudFormation would resolve into one.
    expect(JSON.stringify(template.toJSON())).not.toMatch(/"SecretString":|\{\{resolve:secretsmanager:/);
    const [service] = Object.values(template.findResources('AWS::ECS::Service'));
    expect(service!.DependsOn).toContain(resourceId);
    expect(resource.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^DbSecurityGroupfrom/)]));
  });

  it('the installer function runs in the VPC and is let into the database port; the listener task role gets no secret', () => {
    const fn = template.toJSON().Resources[idOf(bridge.installer!.function)].Properties;
    expect(fn.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [idOf(bridge.installer!.securityGroup), 'GroupId'] }]);
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Environment.Variables).toMatchObject({ PGBRIDGE_SQL_DIR: '/var/task/sql' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432,
      SourceSecurityGroupId: { 'Fn::GetAtt': [idOf(bridge.installer!.securityGroup), 'GroupId'] },
      Description: 'pgbridge installer',
    });
    const taskRole = stack.getLogicalId(bridge.taskDefinition.taskRole.node.defaultChild as never);
    const taskStatements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === taskRole))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    expect(
      taskStatements
        .flatMap((statement: any) => [statement.Action].flat())
        .filter((action: string) => action.startsWith('secretsmanager:')),
    ).toEqual([]);
  });

  it('a changed watch list changes the custom resource, so the deploy installs again', () => {
    const changed = bridgeStack({ watches: [{ table: 'orders' }] }).template;
    const watchesOf = (of: Template) => Object.values(of.findResources('Custom::PgBridgeInstaller'))[0]!.Properties.WatchesJson;
    expect(watchesOf(changed)).toBe(JSON.stringify([{ table: 'orders' }]));
    expect(watchesOf(changed)).not.toBe(watchesOf(template));
  });

  it('retention reaches the installer and the listener, and a bad one fails at synth naming it', () => {
    const { template: kept } = bridgeStack({ retention: '7d' });
    kept.hasResourceProperties('Custom::PgBridgeInstaller', { Retention: '7d' });
    kept.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([{ Name: 'PGBRIDGE_CONFIG_JSON', Value: JSON.stringify({ watches: WATCHES, retention: '7d' }) }]),
        }),
      ],
    });
    expect(() => bridgeStack({ retention: '1 week' })).toThrow(
      /retention: "1 week" is not a retention: use a number of days from "1d" to "3650d"/,
    );
  });

  it('bad installer props fail at synth with a message saying what to fix', () => {
    expect(() => bridgeStack({ installWatches: true })).toThrow(
      /installWatches: the installer installs the watches at deploy time; remove installWatches/,
    );
    expect(() => bridgeStack({ installer: { listenerRoleName: 'pg_listener' } })).toThrow(
      /listenerRoleName "pg_listener" must be 1 to 63 bytes, without NUL, and not start with "pg_"/,
    );
    expect(() => bridgeStack({ installer: { listenerRoleName: 'é'.repeat(32) } })).toThrow(/must be 1 to 63 bytes/);
    expect(() => bridgeStack({ installer: { listenerRoleName: 'é'.repeat(31) } })).not.toThrow();
  });

  it('the bundled installer carries the sql/ files it installs from', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'pgbridge-installer-synth-'));
    const { app, bridge: bundled, stack: bundledStack } = bridgeStack({}, new App({ outdir }));
    const assembly = app.synth();
    const code = assembly.getStackByName(bundledStack.stackName).template.Resources[
      bundledStack.getLogicalId(bundled.installer!.function.node.defaultChild as never)
    ].Properties.Code;
    const assetDir = join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    expect(readdirSync(assetDir)).toEqual(expect.arrayContaining(['index.mjs', 'sql']));
    for (const file of ['001-schema.sql', 'install-watches.sql', 'admin/grant-listener.sql', 'admin/set-login-statement.sql'])
      expect(existsSync(join(assetDir, 'sql', file))).toBe(true);
  });
});

describe('the example stack', () => {
  it('its listener connects as the least-privileged listener role; only the installer reads the RDS master secret', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const example = new PgBridgeExampleStack(app, 'Example', {
      fromEmail: 'team@example.com',
      webhookUrl: 'https://hooks.example.com/orders',
    });
    const exampleTemplate = Template.fromStack(example);
    const installer = example.bridge.installer!;
    const [container] = Object.values(exampleTemplate.findResources('AWS::ECS::TaskDefinition'))[0]!.Properties.ContainerDefinitions;
    const listenerSecretId = example.getLogicalId(installer.listenerSecret.node.defaultChild as never);
    expect(container.Secrets.map((secret: any) => secret.ValueFrom['Fn::Join'][1][0])).toEqual([
      { Ref: listenerSecretId },
      { Ref: listenerSecretId },
    ]);

    // RDS's generated secret is referenced through its attachment to the instance.
    const masterSecretId = Object.keys(exampleTemplate.findResources('AWS::SecretsManager::SecretTargetAttachment'))[0]!;
    const masterReaders = Object.values(exampleTemplate.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.PolicyDocument).includes(`"${masterSecretId}"`))
      .flatMap((policy) => policy.Properties.Roles.map((role: { Ref: string }) => role.Ref));
    expect(masterReaders).toEqual([example.getLogicalId(installer.function.role!.node.defaultChild as never)]);

    const [resource] = Object.values(exampleTemplate.findResources('Custom::PgBridgeInstaller'));
    expect(resource!.Properties.SetupSql).toContain('CREATE TABLE IF NOT EXISTS users');
    expect(JSON.parse(resource!.Properties.WatchesJson).map((watch: { table: string }) => watch.table)).toEqual([
      'users',
      'users',
      'orders',
    ]);
  });
});
