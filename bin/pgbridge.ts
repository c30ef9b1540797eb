#!/usr/bin/env node
import { parseArgs } from 'node:util';
import pg from 'pg';
import { install, installScript, pendingEvents, uninstall } from '../lib/capture/installer.ts';
import { statement } from '../lib/capture/sql-files.ts';
import { loadConfig } from '../lib/config/watch-config.ts';
import { ConfigError, InstallError } from '../lib/errors.ts';
import { main as listen } from '../functions/listener/main.ts';

const USAGE = `pgbridge: row changes in PostgreSQL become SNS/SQS messages

Usage:
  pgbridge install    [--config FILE]   create the outbox schema and the watch triggers
  pgbridge sql        [--config FILE]   print the same as SQL, for migration tools
  pgbridge uninstall  [--force]         remove triggers and schema (--force: even with undelivered events)
  pgbridge listen     [--config FILE] [--no-install]
                                        run the listener (installs first unless --no-install)
  pgbridge grant-listener ROLE          let ROLE run \`listen --no-install\` with least privilege
  pgbridge status                       undelivered and parked event counts
  pgbridge parked list [--limit N]      events the sink refused, with the reason
  pgbridge parked resend [--id ID ...]  put parked events back into the outbox (all without --id)

Environment: DATABASE_URL (or PGHOST, PGUSER, ...), PGBRIDGE_CONFIG, PGBRIDGE_CONFIG_JSON,
PGBRIDGE_TOPIC_ARN or PGBRIDGE_QUEUE_URL, AWS_REGION, AWS_ENDPOINT_URL. See README.md.`;

async function withDatabase<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(process.env.DATABASE_URL ? { connectionString: process.env.DATABASE_URL } : {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'listen') return listen(rest);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      force: { type: 'boolean', default: false },
      limit: { type: 'string', default: '100' },
      id: { type: 'string', multiple: true },
    },
  });
  switch (command) {
    case 'install': {
      const watches = loadConfig({ path: values.config });
      await withDatabase((client) => install(client, watches));
      console.log(`installed ${watches.length} watch(es): ${watches.map((watch) => watch.name).join(', ')}`);
      return;
    }
    case 'sql':
      process.stdout.write(installScript(loadConfig({ path: values.config })));
      return;
    case 'uninstall':
      await withDatabase((client) => uninstall(client, { force: values.force }));
      console.log('pgbridge removed');
      return;
    case 'grant-listener': {
      const role = positionals[0];
      if (!role) throw new ConfigError('grant-listener needs the role name: pgbridge grant-listener ROLE');
      await withDatabase((client) => client.query(statement('admin/grant-listener'), [role]));
      console.log(`role ${role} may now run the listener (pgbridge listen --no-install)`);
      return;
    }
    case 'status': {
      const pending = await withDatabase(pendingEvents);
      console.log(pending ? JSON.stringify(pending) : 'pgbridge is not installed in this database');
      return;
    }
    case 'parked': {
      if (positionals[0] === 'list') {
        const { rows } = await withDatabase((client) => client.query(statement('admin/parked-list'), [Number(values.limit)]));
        for (const row of rows) console.log(JSON.stringify(row));
        if (rows.length === 0) console.log('no parked events');
        return;
      }
      if (positionals[0] === 'resend') {
        const ids = values.id?.length ? values.id : null;
        const { rowCount } = await withDatabase((client) => client.query(statement('admin/parked-resend'), [ids]));
        console.log(`${rowCount} parked event(s) back in the outbox`);
        return;
      }
      break;
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return;
  }
  throw new ConfigError(`unknown command "${argv.join(' ')}"\n\n${USAGE}`);
}

try {
  await run(process.argv.slice(2));
} catch (error) {
  if (error instanceof ConfigError || error instanceof InstallError) {
    console.error(`pgbridge: ${error.message}`);
    process.exit(2);
  }
  console.error(`pgbridge: ${(error as Error).message}`);
  process.exit(1);
}
