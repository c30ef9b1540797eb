import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchConfig } from '../config/watch-config.ts';
import { DEMO_REACTIONS } from '../demo/demo-reactions.ts';
import { packageRoot } from '../package-root.ts';
import { PgBridge } from './index.ts';
import { acknowledgeAwsSolutionsFindings } from './nag-acknowledgements.ts';

export interface PgBridgeExampleStackProps extends StackProps {
  /** Sender of the demo emails, an SES verified identity; the emails go to it too. */
  readonly fromEmail: string;
  /** Receiver of the order webhook. */
  readonly webhookUrl: string;
  /** Who the alarms email (each address confirms once). @default nobody: subscribe to the alarm topic */
  readonly alarmEmails?: string[];
}

/**
 * The classic demo in AWS: a VPC, a PostgreSQL instance with a generated secret, the bridge on
 * the watches of pgbridge.config.json, an email on sign-up and on plan change, a webhook on
 * order changes. The bridge's installer connects as the master user at deploy time, creates the
 * demo tables, installs the watches and the `pgbridge_listener` role; the listener connects as
 * that role only and never sees the master secret.
 */
export class PgBridgeExampleStack extends Stack {
  readonly bridge: PgBridge;

  constructor(scope: Construct, id: string, props: PgBridgeExampleStackProps) {
    super(scope, id, props);
    // Rejected traffic is what explains a listener that cannot reach the database.
    const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      flowLogs: {
        Rejected: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.REJECT },
      },
    });
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

    acknowledgeAwsSolutionsFindings(database, {
      RDS3: 'A demo database: a standby in a second zone would double its cost. Use multiAz for data you keep.',
      RDS10: 'A demo database that `cdk destroy` removes; turn on deletionProtection for data you keep.',
      RDS11: 'Only the listener and the security groups you add may reach the port; a non-default port hides nothing from them.',
      // On the instance: its generated secret is a child of it (`database.secret` is the attachment).
      SMG4: 'The listener reads the password when its task starts; rotating it needs a listener restart after each rotation (`aws ecs update-service --force-new-deployment`), which this demo does not set up.',
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
      alarmEmails: props.alarmEmails,
      installer: {
        // The example's own choice, so that a deploy is all it takes: the demo tables are created
        // in the install step. An application with a migration tool creates its tables there.
        setupSql: readFileSync(join(packageRoot(), 'sql', 'demo', 'tables.sql'), 'utf8'),
      },
    });
    const { signupEmail, planChangedEmail, orderWebhook } = DEMO_REACTIONS;
    for (const email of [signupEmail, planChangedEmail]) {
      this.bridge.addEmailConsumer(email.id, { ...email, from: props.fromEmail, to: props.fromEmail });
    }
    const webhook = this.bridge.addWebhookConsumer(orderWebhook.id, { filter: orderWebhook.filter, url: props.webhookUrl });

    new CfnOutput(this, 'TopicArn', { value: this.bridge.topic.topicArn });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.bridge.alarmTopic.topicArn,
      description: 'Every alarm of the bridge and its consumers notifies it',
    });
    new CfnOutput(this, 'DashboardName', {
      value: this.bridge.dashboard.dashboard.dashboardName,
      description: 'The CloudWatch dashboard of the bridge and its consumers',
    });
    new CfnOutput(this, 'WebhookSecretArn', {
      value: webhook.secret.secretArn,
      description: 'Its value is the Standard Webhooks secret receivers verify with (as it is, or after whsec_)',
    });
    new CfnOutput(this, 'DatabaseSecretArn', {
      value: database.secret!.secretArn,
      description: 'The master user: for administration, not for the listener',
    });
    new CfnOutput(this, 'ListenerSecretArn', {
      value: this.bridge.installer!.listenerSecret.secretArn,
      description: 'The login the listener runs as (pgbridge_listener)',
    });
  }
}
