import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchConfig } from '../config/watch-config.ts';
import { DEMO_REACTIONS } from '../demo/demo-reactions.ts';
import { packageRoot } from '../package-root.ts';
import { PgBridge } from './index.ts';

export interface PgBridgeExampleStackProps extends StackProps {
  /** Sender of the demo emails, an SES verified identity; the emails go to it too. */
  readonly fromEmail: string;
  /** Receiver of the order webhook. */
  readonly webhookUrl: string;
}

/**
 * The classic demo in AWS: a VPC, a PostgreSQL instance with a generated secret, the bridge on
 * the watches of pgbridge.config.json, an email on sign-up and on plan change, a webhook on
 * order changes. Create the demo tables (sql/demo/tables.sql) in the `app` database once; until
 * they exist the listener logs a clear error and retries the install (PGBRIDGE_INSTALL_RETRY),
 * healthy meanwhile, so the first deploy completes before the tables are created.
 */
export class PgBridgeExampleStack extends Stack {
  readonly bridge: PgBridge;

  constructor(scope: Construct, id: string, props: PgBridgeExampleStackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      credentials: rds.Credentials.fromGeneratedSecret('pgbridge_admin'),
      databaseName: 'app',
      storageEncrypted: true,
      allocatedStorage: 20,
      backupRetention: Duration.days(1),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const { watches } = JSON.parse(readFileSync(join(packageRoot(), 'pgbridge.config.json'), 'utf8')) as { watches: WatchConfig[] };
    this.bridge = new PgBridge(this, 'Bridge', {
      vpc,
      database: {
        host: database.dbInstanceEndpointAddress,
        databaseName: 'app',
        secret: database.secret!,
        securityGroup: database.connections.securityGroups[0],
      },
      watches,
    });
    const { signupEmail, planChangedEmail, orderWebhook } = DEMO_REACTIONS;
    for (const email of [signupEmail, planChangedEmail]) {
      this.bridge.addEmailConsumer(email.id, { ...email, from: props.fromEmail, to: props.fromEmail });
    }
    const webhook = this.bridge.addWebhookConsumer(orderWebhook.id, { filter: orderWebhook.filter, url: props.webhookUrl });

    new CfnOutput(this, 'TopicArn', { value: this.bridge.topic.topicArn });
    new CfnOutput(this, 'WebhookSecretArn', { value: webhook.secret.secretArn, description: 'Its value is the key receivers verify signatures with' });
    new CfnOutput(this, 'DatabaseSecretArn', { value: database.secret!.secretArn });
  }
}
