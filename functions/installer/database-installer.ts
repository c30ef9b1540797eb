import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import pg from 'pg';
import { z } from 'zod';
import { dropListenerLogin } from '../../lib/capture/listener-role.ts';
import { applyManagedInstall } from '../../lib/capture/managed-install.ts';
import { parseBridgeConfig } from '../../lib/config/watch-config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { createLogger, type Logger } from '../../lib/logger.ts';

/** The custom resource's properties, as DatabaseInstaller (lib/cdk/database-installer.ts) sets them. */
const propertiesSchema = z.object({
  Host: z.string().min(1),
  Port: z.coerce.number().int().min(1).max(65_535),
  DatabaseName: z.string().min(1),
  SslMode: z.enum(['disable', 'require', 'verify-full', 'no-verify']),
  OwnerSecretArn: z.string().min(1),
  ListenerSecretArn: z.string().min(1),
  ListenerRoleName: z.string().min(1),
  WatchesJson: z.string(),
  Retention: z.string().optional(),
  SetupSql: z.string().optional(),
});

export interface DatabaseCredentials {
  username: string;
  password: string;
}

/** Reads a `{ username, password }` secret; the one boundary to AWS, replaced in tests. */
export type SecretReader = (secretArn: string) => Promise<DatabaseCredentials>;

export interface InstallerResult {
  PhysicalResourceId: string;
  Data: { ListenerRoleName: string };
}

// Physical ids this function hands out. A Delete of anything else follows a Create that failed
// before answering, so there is nothing of ours in the database to remove.
const PHYSICAL_ID_PREFIX = 'pgbridge-listener:';

/**
 * The onEvent handler of the installer's custom resource (cdk `custom_resources.Provider`).
 * Create and Update install the watches and give the listener role its login and grants, with
 * the owner's credentials; Delete drops the listener role and keeps the capture and its events.
 * The physical id names the role and database, so moving either replaces the resource and the
 * old role is dropped from the old database.
 */
export function createInstallerHandler(readSecret: SecretReader, log: Logger = createLogger('pgbridge-installer')) {
  return async (event: CloudFormationCustomResourceEvent): Promise<InstallerResult> => {
    const properties = propertiesSchema.parse(event.ResourceProperties);
    const physicalId = `${PHYSICAL_ID_PREFIX}${properties.ListenerRoleName}@${properties.Host}:${properties.Port}/${properties.DatabaseName}`;
    const result = { PhysicalResourceId: physicalId, Data: { ListenerRoleName: properties.ListenerRoleName } };
    if (event.RequestType === 'Delete') {
      if (!event.PhysicalResourceId.startsWith(PHYSICAL_ID_PREFIX)) return { ...result, PhysicalResourceId: event.PhysicalResourceId };
      const outcome = await withOwner(properties, readSecret, (client) => dropListenerLogin(client, properties.ListenerRoleName));
      log.info({ msg: 'listener role removed', role: properties.ListenerRoleName, outcome });
      return result;
    }
    const { watches, retentionDays } = parseBridgeConfig(
      { watches: JSON.parse(properties.WatchesJson), retention: properties.Retention },
      'installer watches',
    );
    const { password } = await readSecret(properties.ListenerSecretArn);
    await withOwner(properties, readSecret, (client) =>
      applyManagedInstall(client, {
        watches,
        setupSql: properties.SetupSql,
        retentionDays,
        listener: { roleName: properties.ListenerRoleName, password },
      }),
    );
    log.info({
      msg: 'watches installed',
      requestType: event.RequestType,
      watches: watches.map((watch) => watch.name),
      role: properties.ListenerRoleName,
    });
    return result;
  };
}

async function withOwner<T>(
  properties: z.infer<typeof propertiesSchema>,
  readSecret: SecretReader,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const owner = await readSecret(properties.OwnerSecretArn);
  const client = new pg.Client({
    host: properties.Host,
    port: properties.Port,
    database: properties.DatabaseName,
    user: owner.username,
    password: owner.password,
    ssl: sslOption(properties.SslMode),
    connectionTimeoutMillis: 10_000,
    application_name: 'pgbridge-installer',
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The same meaning as PGSSLMODE has for the listener (node-postgres verifies for `require` too). */
function sslOption(mode: z.infer<typeof propertiesSchema>['SslMode']): pg.ClientConfig['ssl'] {
  if (mode === 'disable') return false;
  if (mode === 'no-verify') return { rejectUnauthorized: false };
  return true;
}

const secretSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });

/** GetSecretValue of an RDS-shaped secret; the error names the secret, never its content. */
export function secretsManagerReader(client = new SecretsManagerClient({})): SecretReader {
  return async (secretArn) => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const parsed = secretSchema.safeParse(SecretString === undefined ? undefined : safeJson(SecretString));
    if (!parsed.success) throw new ConfigError(`secret ${secretArn} must be JSON with string fields "username" and "password"`);
    return parsed.data;
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const handler = createInstallerHandler(secretsManagerReader());
