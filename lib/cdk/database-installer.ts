import { CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { WatchConfig } from '../config/watch-config.ts';
import { acknowledgeAwsSolutionsFindings } from './nag-acknowledgements.ts';
import { builtInHandlerDirectory } from './package-assets.ts';
import type { PgBridgeDatabase } from './pg-bridge.ts';
import { PropsCheck } from './props-validation.ts';

/** `PgBridge`'s `installer` prop: the choices a user makes about the deploy-time install. */
export interface DatabaseInstallerOptions {
  /**
   * Login role the listener connects as; created when missing, its password (from the
   * installer's generated secret) set whenever the installer runs, dropped when it is deleted.
   * Name a role only this bridge uses: an existing role that can do more than log in (or is a
   * member of another role), or the owner's own role, is refused.
   * @default 'pgbridge_listener'
   */
  readonly listenerRoleName?: string;
  /**
   * SQL the installer runs as the owner before installing the watches, on every deploy, e.g.
   * the application's `CREATE TABLE IF NOT EXISTS ...` when no migration tool creates them. Must
   * be safe to repeat. Not for secrets: it is part of the template.
   * @default none
   */
  readonly setupSql?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export interface DatabaseInstallerProps extends DatabaseInstallerOptions {
  readonly vpc: ec2.IVpc;
  /** @default the VPC's private subnets with egress (the function calls the Secrets Manager API) */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** `database.secret` holds the owner's credentials (e.g. the RDS master user). */
  readonly database: PgBridgeDatabase;
  readonly watches: WatchConfig[];
  /** As `PgBridgeProps.retention`. @default none kept */
  readonly retention?: string;
}

/**
 * Installs the watches at deploy time with the owner's credentials and gives the listener a
 * least-privileged login role of its own: a custom resource whose function runs in the VPC,
 * reads the owner's secret (nothing else may) and the listener's generated secret, installs,
 * creates or updates the role and grants it what `pgbridge grant-listener` grants. The
 * watches are among its properties, so a changed watch list installs again on deploy.
 */
export class DatabaseInstaller extends Construct {
  /** `{ username, password }` of the listener's role: what the listener connects with. */
  readonly listenerSecret: secretsmanager.Secret;
  readonly listenerRoleName: string;
  readonly function: lambda.Function;
  readonly securityGroup: ec2.SecurityGroup;
  /** Depend on this to start after the install (PgBridge's listener service does). */
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DatabaseInstallerProps) {
    super(scope, id);
    this.listenerRoleName = props.listenerRoleName ?? 'pgbridge_listener';
    const port = props.database.port ?? 5432;
    new PropsCheck(this.node.path)
      // PostgreSQL cuts longer names to 63 bytes, and the secret's username would no longer match.
      .require(
        isRoleName(this.listenerRoleName),
        `listenerRoleName "${this.listenerRoleName}" must be 1 to 63 bytes, without NUL, and not start with "pg_" (reserved by PostgreSQL)`,
      )
      .throwIfInvalid();

    this.listenerSecret = new secretsmanager.Secret(this, 'ListenerSecret', {
      description: `pgbridge listener login ${this.node.path}`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: this.listenerRoleName }),
        generateStringKey: 'password',
        // Letters and digits: nothing a connection string or a shell needs escaped.
        excludePunctuation: true,
        passwordLength: 32,
      },
    });
    acknowledgeAwsSolutionsFindings(this.listenerSecret, {
      SMG4: 'The password is set on the database role by the installer at deploy time; a rotation function changing the secret alone would lock the listener out. Rotate by redeploying with a new secret.',
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'pgbridge installer: out to Postgres and the Secrets Manager API',
      allowAllOutbound: true,
    });
    props.database.securityGroup?.addIngressRule(this.securityGroup, ec2.Port.tcp(port), 'pgbridge installer');

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role instead of AWSLambdaBasicExecutionRole / AWSLambdaVPCAccessExecutionRole,
    // which may write to every log group of the account.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `pgbridge installer ${this.node.path}: its log group, its network interfaces in the VPC, the two secrets`,
    });
    logGroup.grantWrite(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    acknowledgeAwsSolutionsFindings(role, {
      'IAM5[Resource::*]':
        'A function in a VPC manages its network interfaces: EC2 does not support resource-level permissions for these actions (the same statement as AWSLambdaVPCAccessExecutionRole, without its account-wide log rights).',
    });

    this.function = new lambda.Function(this, 'Function', {
      role,
      // Prebuilt by pgbridge's own build (with the sql/ files it installs from).
      code: lambda.Code.fromAsset(builtInHandlerDirectory('database-installer')),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.minutes(2),
      memorySize: 256,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        PGBRIDGE_SQL_DIR: '/var/task/sql',
        // Since Node.js 20 the Lambda runtime no longer trusts the Amazon RDS certificate
        // authorities by default; this file of the runtime holds them (verify-full needs them).
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      },
    });
    props.database.secret.grantRead(this.function);
    this.listenerSecret.grantRead(this.function);

    acknowledgeAwsSolutionsFindings(this.function, {
      L1: 'Node.js 22 is the runtime pgbridge bundles and tests its functions for (CI runs the suite on Node 22).',
    });

    const providerLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const providerRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `pgbridge installer ${this.node.path}: the custom resource framework, which invokes the installer`,
    });
    providerLogs.grantWrite(providerRole);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      frameworkOnEventRole: providerRole,
      logGroup: providerLogs,
    });
    // cdk-nag names the resource by the function's logical id, which depends on where the bridge sits.
    const functionLogicalId = Stack.of(this).getLogicalId(this.function.node.defaultChild as lambda.CfnFunction);
    acknowledgeAwsSolutionsFindings(providerRole, {
      [`IAM5[Resource::<${functionLogicalId}.Arn>:*]`]:
        'The custom resource framework invokes the installer by version or alias as well (grantInvoke adds the ":*" form); the function is the only resource.',
    });
    acknowledgeAwsSolutionsFindings(provider, {
      L1: 'The runtime of the custom resource framework function is chosen by aws-cdk-lib.',
    });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::PgBridgeInstaller',
      // Names and ARNs only: the function reads the secrets' values itself at deploy time.
      properties: {
        Host: props.database.host,
        Port: String(port),
        DatabaseName: props.database.databaseName ?? 'postgres',
        SslMode: props.database.sslMode ?? 'verify-full',
        OwnerSecretArn: props.database.secret.secretArn,
        ListenerSecretArn: this.listenerSecret.secretArn,
        ListenerRoleName: this.listenerRoleName,
        WatchesJson: JSON.stringify(props.watches),
        SetupSql: props.setupSql,
        Retention: props.retention,
      },
    });
    // The function must reach Postgres: wait for the ingress rule added to the database's group.
    if (props.database.securityGroup) this.resource.node.addDependency(props.database.securityGroup);
  }
}

function isRoleName(name: string): boolean {
  const bytes = Buffer.byteLength(name);
  return bytes >= 1 && bytes <= 63 && !name.includes('\0') && !name.startsWith('pg_');
}
