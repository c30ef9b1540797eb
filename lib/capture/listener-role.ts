import type pg from 'pg';
import { ConfigError } from '../errors.ts';
import { statement } from './sql-files.ts';

/**
 * Makes `roleName` a login role whose password has this SCRAM verifier (`scramSha256Verifier`;
 * created when missing, its password reset otherwise) and grants it what `listen --no-install`
 * needs, like `pgbridge grant-listener`. Runs as the role that installed the schema, after `install`.
 */
export async function ensureListenerLogin(client: pg.ClientBase, roleName: string, verifier: string): Promise<void> {
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ privileged: boolean; is_current_user: boolean }>(statement('admin/login-role'), [roleName]);
    const existing = rows[0];
    if (existing?.is_current_user) {
      throw new ConfigError(
        `listener role "${roleName}" is the role the installer connects as; give the listener a role of its own (e.g. pgbridge_listener)`,
      );
    }
    if (existing?.privileged) {
      throw new ConfigError(
        `listener role "${roleName}" already exists with more rights than logging in (superuser, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS or membership in another role); choose another name`,
      );
    }
    const built = await client.query<{ statement: string }>(statement('admin/set-login-statement'), [
      roleName,
      verifier,
      existing !== undefined,
    ]);
    await client.query(built.rows[0]!.statement);
    await client.query(statement('admin/grant-listener'), [roleName]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Takes back the listener's grants and drops its login role; the schema, the triggers and
 * undelivered events stay (`pgbridge uninstall` removes them). A missing role is not an error;
 * a role `ensureListenerLogin` would have refused (privileged, or the caller) is left alone.
 */
export async function dropListenerLogin(client: pg.ClientBase, roleName: string): Promise<'dropped' | 'absent' | 'kept'> {
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ privileged: boolean; is_current_user: boolean }>(statement('admin/login-role'), [roleName]);
    const existing = rows[0];
    let outcome: 'dropped' | 'absent' | 'kept' = 'absent';
    if (existing && (existing.privileged || existing.is_current_user)) {
      outcome = 'kept';
    } else if (existing) {
      const { installed } = (await client.query(statement('admin/schema-exists'))).rows[0];
      if (installed) await client.query(statement('admin/revoke-listener'), [roleName]);
      const built = await client.query<{ statement: string }>(statement('admin/drop-login-statement'), [roleName]);
      await client.query(built.rows[0]!.statement);
      outcome = 'dropped';
    }
    await client.query('COMMIT');
    return outcome;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
