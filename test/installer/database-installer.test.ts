import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createInstallerHandler, secretsManagerReader, type DatabaseCredentials } from '../../functions/installer/database-installer.ts';
import type { Listener } from '../../functions/listener/listener.ts';
import { install } from '../../lib/capture/installer.ts';
import { parseConfig, type WatchConfig } from '../../lib/config/watch-config.ts';
import { receiveMessages, startTestAws, type TestAws } from '../support/test-aws.ts';
import { startTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { captureLogger, capturedLogs, startTestListener } from '../support/test-listener.ts';

const OWNER_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:owner';
const LISTENER_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:listener';
// The installer never builds SQL text from the password, but a password that would break a
// hand-quoted literal proves it.
const LISTENER_PASSWORD = `li'st\\ener"pass;--`;
const SETUP_SQL = `
  CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY, name text);
  CREATE TABLE IF NOT EXISTS invoices (id int PRIMARY KEY, total numeric);
  CREATE TABLE IF NOT EXISTS payroll (id int PRIMARY KEY, salary numeric);
`;

let db: TestDatabase;
let aws: TestAws;
let port: number;
let listener: Listener | undefined;
const secrets = new Map<string, DatabaseCredentials>();
const handler = createInstallerHandler(async (arn) => {
  const secret = secrets.get(arn);
  if (!secret) throw new Error(`no such secret ${arn}`);
  return secret;
}, captureLogger('test-installer'));

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  {
    watches = [{ table: 'accounts' }],
    role = 'pgbridge_listener',
    physicalId = `pgbridge-listener:${role}@127.0.0.1:${port}/postgres`,
    retention,
  }: { watches?: WatchConfig[]; role?: string; physicalId?: string; retention?: string } = {},
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
    ResponseURL: 'https://cloudformation.example/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/Example/1',
    RequestId: 'request-1',
    LogicalResourceId: 'Installer',
    ResourceType: 'Custom::PgBridgeInstaller',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
      Host: '127.0.0.1',
      Port: String(port),
      DatabaseName: 'postgres',
      SslMode: 'disable',
      OwnerSecretArn: OWNER_ARN,
      ListenerSecretArn: LISTENER_ARN,
      ListenerRoleName: role,
      WatchesJson: JSON.stringify(watches),
      SetupSql: SETUP_SQL,
      Retention: retention,
    },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update')
    return { ...common, RequestType: 'Update', PhysicalResourceId: physicalId, OldResourceProperties: common.ResourceProperties };
  return { ...common, RequestType: 'Delete', PhysicalResourceId: physicalId };
}

function connectAs(user: string, password: string): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, database: 'postgres', user, password });
}

async function canLogIn(user: string, password: string): Promise<boolean> {
  const client = connectAs(user, password);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function urlFor(user: string, password: string): string {
  const url = new URL(`postgres://127.0.0.1:${port}/postgres`);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  return url.toString();
}

const outboxTables = async () => (await db.query(`SELECT table_name FROM pgbridge.outbox ORDER BY id`)).rows.map((row) => row.table_name);

beforeAll(async () => {
  // An embedded server of its own: the test turns on password authentication for every role
  // but the superuser, so that logging in proves the password the installer set.
  [db, aws] = await Promise.all([startTestDatabase({ embedded: true }), startTestAws()]);
  port = Number(new URL(db.url).port);
  const { rows } = await db.query(`SHOW hba_file`);
  await db.query(
    `COPY (VALUES ('host all postgres 127.0.0.1/32 trust'), ('host all all 127.0.0.1/32 scram-sha-256')) TO '${rows[0].hba_file}'`,
  );
  await db.query(`SELECT pg_reload_conf()`);
  // Like the RDS master user: not a superuser, but CREATEROLE and CREATEDB.
  await db.query(`
    CREATE ROLE app_owner LOGIN PASSWORD 'owner-password' NOSUPERUSER CREATEROLE CREATEDB;
    GRANT CREATE ON DATABASE postgres TO app_owner;
    GRANT CREATE ON SCHEMA public TO app_owner;
  `);
  secrets.set(OWNER_ARN, { username: 'app_owner', password: 'owner-password' });
  secrets.set(LISTENER_ARN, { username: 'pgbridge_listener', password: LISTENER_PASSWORD });
});

afterEach(async () => {
  await listener?.stop();
  listener = undefined;
});

afterAll(async () => {
  await Promise.all([db?.stop(), aws?.stop()]);
});

describe('the installer custom resource (onEvent) against PostgreSQL', () => {
  it('create runs the setup SQL, installs the watches and gives the listener a login that drains and can do nothing else', async () => {
    const result = await handler(event('Create'));
    expect(result.PhysicalResourceId).toBe(`pgbridge-listener:pgbridge_listener@127.0.0.1:${port}/postgres`);
    expect(result.Data).toEqual({ ListenerRoleName: 'pgbridge_listener' });

    const listenerRole = connectAs('pgbridge_listener', LISTENER_PASSWORD);
    await listenerRole.connect();
    await expect(listenerRole.query(`SELECT * FROM payroll`)).rejects.toThrow(/permission denied for table payroll/);
    await expect(listenerRole.query(`INSERT INTO accounts VALUES (99, 'forged')`)).rejects.toThrow(/permission denied for table accounts/);
    await expect(listenerRole.query(`UPDATE pgbridge.outbox SET row_data = '{}'`)).rejects.toThrow(/permission denied/);
    await expect(install(listenerRole, parseConfig({ watches: [{ table: 'payroll' }] }))).rejects.toThrow(
      /install failed, nothing was changed: .*(permission denied|must be owner)/,
    );
    await expect(listenerRole.query(`CREATE ROLE intruder`)).rejects.toThrow(/permission denied to create role/);
    await listenerRole.end();

    const topicArn = await aws.resources.createTopic(aws.name('installer'));
    const queue = await aws.resources.subscribeQueue(topicArn, aws.name('accounts'));
    await db.query(`INSERT INTO accounts VALUES (1, 'acme')`);
    listener = await startTestListener({ databaseUrl: urlFor('pgbridge_listener', LISTENER_PASSWORD), endpoint: aws.endpoint, topicArn });
    const [message] = await receiveMessages(aws, queue.url, { count: 1 });
    expect(message!.event).toMatchObject({ table: 'accounts', action: 'insert', row: { id: 1, name: 'acme' } });
  });

  it('an update with a changed watch list installs exactly the new watches', async () => {
    await handler(event('Create'));
    await db.query(`DELETE FROM pgbridge.outbox`);
    await handler(event('Update', { watches: [{ table: 'invoices' }] }));
    await db.query(`INSERT INTO accounts VALUES (2, 'not watched any more'); INSERT INTO invoices VALUES (1, 10)`);
    expect(await outboxTables()).toEqual(['invoices']);
    expect(await canLogIn('pgbridge_listener', LISTENER_PASSWORD)).toBe(true);
  });

  it('an update with a retention keeps published events that many days; without one, none', async () => {
    await handler(event('Update', { retention: '5d' }));
    expect((await db.query(`SELECT days FROM pgbridge.retention`)).rows[0].days).toBe(5);
    await handler(event('Update'));
    expect((await db.query(`SELECT days FROM pgbridge.retention`)).rows[0].days).toBeNull();
  });

  it('running the same deploy again changes nothing, and a new listener password takes effect on the next deploy', async () => {
    await handler(event('Update'));
    await handler(event('Update'));
    const grants = await db.query(
      `SELECT table_name, privilege_type FROM information_schema.role_table_grants WHERE grantee = 'pgbridge_listener' ORDER BY 1, 2`,
    );
    expect(grants.rows).toEqual([
      { table_name: 'coalescing', privilege_type: 'DELETE' },
      { table_name: 'coalescing', privilege_type: 'SELECT' },
      { table_name: 'leadership', privilege_type: 'INSERT' },
      { table_name: 'leadership', privilege_type: 'SELECT' },
      { table_name: 'leadership', privilege_type: 'UPDATE' },
      { table_name: 'listener_state', privilege_type: 'SELECT' },
      { table_name: 'listener_state', privilege_type: 'UPDATE' },
      { table_name: 'outbox', privilege_type: 'DELETE' },
      { table_name: 'outbox', privilege_type: 'SELECT' },
      { table_name: 'parked', privilege_type: 'INSERT' },
      { table_name: 'parked', privilege_type: 'SELECT' },
      { table_name: 'parked', privilege_type: 'UPDATE' },
      // Append only, for retention: never read, change or delete a published event.
      { table_name: 'published', privilege_type: 'INSERT' },
      { table_name: 'published_count', privilege_type: 'DELETE' },
      { table_name: 'published_count', privilege_type: 'INSERT' },
      { table_name: 'published_count', privilege_type: 'SELECT' },
      { table_name: 'published_count', privilege_type: 'UPDATE' },
      { table_name: 'retention', privilege_type: 'SELECT' },
      { table_name: 'schema_version', privilege_type: 'SELECT' },
      // "capture": "wal": which slot to read, and the ids of rounds not yet confirmed.
      { table_name: 'wal_capture', privilege_type: 'SELECT' },
      { table_name: 'wal_round', privilege_type: 'DELETE' },
      { table_name: 'wal_round', privilege_type: 'INSERT' },
      { table_name: 'wal_round', privilege_type: 'SELECT' },
      { table_name: 'wal_round', privilege_type: 'UPDATE' },
      { table_name: 'watch', privilege_type: 'SELECT' },
    ]);
    expect(
      (await db.query(`SELECT count(*)::int AS triggers FROM pg_trigger WHERE tgrelid = 'accounts'::regclass AND NOT tgisinternal`)).rows[0]
        .triggers,
    ).toBeGreaterThan(0);

    secrets.set(LISTENER_ARN, { username: 'pgbridge_listener', password: 'rotated-password' });
    try {
      await handler(event('Update'));
      expect(await canLogIn('pgbridge_listener', 'rotated-password')).toBe(true);
      expect(await canLogIn('pgbridge_listener', LISTENER_PASSWORD)).toBe(false);
    } finally {
      secrets.set(LISTENER_ARN, { username: 'pgbridge_listener', password: LISTENER_PASSWORD });
      await handler(event('Update'));
    }
  });

  it('an odd role name is quoted everywhere: the role is created, granted, logs in and is dropped', async () => {
    const role = 'Odd "Listener"; drop';
    await handler(event('Create', { role }));
    expect(await canLogIn(role, LISTENER_PASSWORD)).toBe(true);
    const listenerRole = connectAs(role, LISTENER_PASSWORD);
    await listenerRole.connect();
    expect((await listenerRole.query(`SELECT count(*)::int AS watches FROM pgbridge.watch`)).rows[0].watches).toBe(1);
    await listenerRole.end();
    await handler(event('Delete', { role }));
    expect((await db.query(`SELECT count(*)::int AS roles FROM pg_roles WHERE rolname = $1`, [role])).rows[0].roles).toBe(0);
  });

  it('refuses to take over the role it connects as or a privileged role, naming it, and leaves both unchanged', async () => {
    await expect(handler(event('Create', { role: 'app_owner' }))).rejects.toThrow(
      /listener role "app_owner" is the role the installer connects as/,
    );
    expect(await canLogIn('app_owner', 'owner-password')).toBe(true);
    await db.query(`CREATE ROLE ops_admin LOGIN PASSWORD 'ops-password' CREATEROLE`);
    await expect(handler(event('Create', { role: 'ops_admin' }))).rejects.toThrow(
      /listener role "ops_admin" already exists with more rights than logging in/,
    );
    expect(await canLogIn('ops_admin', 'ops-password')).toBe(true);
    expect((await handler(event('Delete', { role: 'ops_admin' }))).PhysicalResourceId).toContain('ops_admin');
    expect(await canLogIn('ops_admin', 'ops-password')).toBe(true);
    await db.query(`CREATE ROLE data_reader LOGIN PASSWORD 'reader-password'; GRANT pg_read_all_data TO data_reader`);
    await expect(handler(event('Create', { role: 'data_reader' }))).rejects.toThrow(
      /listener role "data_reader" already exists with more rights than logging in \(.*membership in another role\)/,
    );
    expect(await canLogIn('data_reader', 'reader-password')).toBe(true);
  });

  it('delete drops the listener role and keeps the triggers and the undelivered events', async () => {
    await handler(event('Update'));
    await db.query(`DELETE FROM pgbridge.outbox; INSERT INTO accounts VALUES (3, 'waiting')`);
    await handler(event('Delete'));
    expect(await canLogIn('pgbridge_listener', LISTENER_PASSWORD)).toBe(false);
    expect((await db.query(`SELECT count(*)::int AS roles FROM pg_roles WHERE rolname = 'pgbridge_listener'`)).rows[0].roles).toBe(0);
    await db.query(`INSERT INTO accounts VALUES (4, 'still captured')`);
    expect(await outboxTables()).toEqual(['accounts', 'accounts']);
    await expect(handler(event('Delete'))).resolves.toMatchObject({ Data: { ListenerRoleName: 'pgbridge_listener' } });
  });

  it('a listener password outside printable ASCII is refused with a message saying so, before anything is installed', async () => {
    secrets.set(LISTENER_ARN, { username: 'pgbridge_listener', password: 'pass word' });
    try {
      await expect(handler(event('Create', { role: 'spaced_listener', watches: [{ table: 'payroll' }] }))).rejects.toThrow(
        /the listener password must be printable ASCII without spaces/,
      );
    } finally {
      secrets.set(LISTENER_ARN, { username: 'pgbridge_listener', password: LISTENER_PASSWORD });
    }
    expect((await db.query(`SELECT count(*)::int AS roles FROM pg_roles WHERE rolname = 'spaced_listener'`)).rows[0].roles).toBe(0);
    expect((await db.query(`SELECT count(*)::int AS watches FROM pgbridge.watch WHERE table_name = 'payroll'`)).rows[0].watches).toBe(0);
  });

  it('a secret that is not RDS-shaped fails naming the secret, never showing its content', async () => {
    const client = {
      send: async () => ({ SecretString: '{"user":"app_owner","pass":"hunter2-secret"}' }),
    } as unknown as SecretsManagerClient;
    const failure = secretsManagerReader(client)(OWNER_ARN);
    await expect(failure).rejects.toThrow(`secret ${OWNER_ARN} must be JSON with string fields "username" and "password"`);
    await expect(failure).rejects.not.toThrow(/hunter2/);
  });

  it('the installer logs what it did and never a password', async () => {
    await handler(event('Update'));
    const installerLogs = capturedLogs.filter((line) => line.name === 'test-installer');
    expect(installerLogs.at(-1)).toMatchObject({
      msg: 'watches installed',
      requestType: 'Update',
      watches: ['public.accounts'],
      role: 'pgbridge_listener',
    });
    expect(JSON.stringify(installerLogs)).not.toMatch(/owner-password|li'st|SCRAM-SHA-256/);
  });

  it('a delete after a create that failed before answering does not touch the database', async () => {
    const failedCreate = event('Delete', { physicalId: 'request-1' });
    secrets.delete(OWNER_ARN);
    try {
      await expect(handler(failedCreate)).resolves.toMatchObject({ PhysicalResourceId: 'request-1' });
    } finally {
      secrets.set(OWNER_ARN, { username: 'app_owner', password: 'owner-password' });
    }
  });
});
