import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'pgbridge-package-'));
const app = join(work, 'app');
/** Written into the user's handler, so that its bundle can be recognised in cdk.out. */
const HANDLER_MARKER = 'audited-by-the-user-handler';
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];

// The children run as a user's shell would: without vitest's or an outer `npm test`'s variables.
const env = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') && !name.startsWith('VITEST') && name !== 'NODE_OPTIONS'),
  ),
  CDK_DISABLE_CLI_TELEMETRY: 'true',
};

async function run(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stderr}\n${stdout}`, { cause: error });
  }
}

let tarball: string;
let packedFiles: string[];
let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

/** The tarball `npm pack` makes of the current source, and the files it holds. */
async function packPgbridge(): Promise<{ filename: string; files: { path: string }[] }> {
  // npm pack runs prepack (a clean build) in a copy, so the checkout's dist/, which other test
  // files read meanwhile, is left alone. Only the source travels; node_modules is shared.
  const source = join(work, 'source');
  const skipped = new Set(['node_modules', 'dist', 'cdk.out', '.git', '.pgbridge', 'scratch']);
  cpSync(REPO, source, { recursive: true, filter: (path) => !skipped.has(path.slice(REPO.length).split('/')[0] ?? '') });
  symlinkSync(join(REPO, 'node_modules'), join(source, 'node_modules'));
  const [packed] = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', work], source)) as {
    filename: string;
    files: { path: string }[];
  }[];
  return packed!;
}

/** The user's app, up to installing pgbridge. */
async function createApp(): Promise<void> {
  // A new CDK app as `cdk init` writes it (TypeScript, NodeNext, CommonJS), minus its jest setup.
  mkdirSync(app);
  await run(join(REPO, 'node_modules', '.bin', 'cdk'), ['init', 'app', '--language', 'typescript', '--generate-only'], app);
  rmSync(join(app, 'test'), { recursive: true });
  rmSync(join(app, 'jest.config.js'));
  const appPackage = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  for (const name of ['@swc/core', '@swc/jest', '@types/jest', 'jest']) delete appPackage.devDependencies[name];
  delete appPackage.scripts.test;
  writeFileSync(join(app, 'package.json'), JSON.stringify(appPackage, null, 2));
  const tsconfig = JSON.parse(readFileSync(join(app, 'tsconfig.json'), 'utf8'));
  tsconfig.compilerOptions.types = ['node'];
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));

  mkdirSync(join(app, 'src'));
  writeFileSync(
    join(app, 'src', 'audit.ts'),
    `import { handleChanges, PermanentFailure, type ChangeEvent } from 'pgbridge/consumer';

interface User { id: number; email: string }

export const handler = handleChanges<User>(async (event: ChangeEvent<User>) => {
  if (!event.row) throw new PermanentFailure(\`event \${event.id} has no row\`);
  console.log('${HANDLER_MARKER}', event.action, event.row.email);
});
`,
  );
  writeFileSync(
    join(app, 'lib', 'app-stack.ts'),
    `import * as cdk from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { parseConfig, type WatchConfig } from 'pgbridge';
import { PgBridge } from 'pgbridge/cdk';

const watches: WatchConfig[] = [{ table: 'users', payload: ['id', 'email'] }];
parseConfig({ watches }, 'the app watches');

export class AppStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const secret = new secretsmanager.Secret(this, 'DatabaseSecret');
    const bridge = new PgBridge(this, 'Bridge', { vpc, database: { host: 'db.internal.example', secret }, watches });
    bridge.addConsumer('Audit', { handler: 'src/audit.ts', filter: { table: 'users' } });
    bridge.addWebhookConsumer('Hook', { url: 'https://hooks.example.com/users' });
  }
}
`,
  );
}

beforeAll(async () => {
  const [packed] = await Promise.all([packPgbridge(), createApp()]);
  tarball = join(work, packed.filename);
  packedFiles = packed.files.map((file) => file.path);
  await run('npm', ['install', ...NPM_FLAGS, tarball], app);
  // cdk.json's app is `npx tsc && npx tsx bin/app.ts`: the app type-checks before it synthesises.
  await run('npx', ['cdk', 'synth', '--quiet', '--no-notices'], app);
  template = JSON.parse(readFileSync(join(app, 'cdk.out', 'AppStack.template.json'), 'utf8'));
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const resources = (type: string) => Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
const assetDirectory = (assetHash: string) => join(app, 'cdk.out', `asset.${assetHash}`);

describe('pgbridge as an installed package in a new CDK app', () => {
  it('the package holds the compiled code, its types and sql/, and no sources, tests or benchmarks', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'dist/lib/cdk/index.js',
        'dist/lib/cdk/index.d.ts',
        'dist/lib/consumers/index.js',
        'dist/bin/pgbridge.js',
        'sql/001-schema.sql',
      ]),
    );
    const outside = packedFiles.filter((path) => !/^(dist|sql)\//.test(path) && !['package.json', 'README.md'].includes(path));
    expect(outside).toEqual([]);
    expect(packedFiles.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
  });

  it("aws-cdk-lib and constructs are the app's own, not a second copy inside pgbridge", () => {
    expect(existsSync(join(app, 'node_modules', 'pgbridge', 'node_modules', 'aws-cdk-lib'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'pgbridge', 'node_modules', 'constructs'))).toBe(false);
  });

  it('cdk synth produces the topic, the alarm topic, the listener service, the dashboard and the consumer with its queue and dead-letter queue', () => {
    expect(
      resources('AWS::SNS::Topic')
        .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual(['BridgeAlarmTopic', 'BridgeTopic']);
    expect(resources('AWS::CloudWatch::Dashboard')).toHaveLength(1);
    expect(resources('AWS::ECS::Service')).toHaveLength(1);
    const auditQueue = resources('AWS::SQS::Queue').find(([id]) => /^BridgeAuditQueue/.test(id));
    const deadLetterId = auditQueue?.[1].Properties.RedrivePolicy?.deadLetterTargetArn['Fn::GetAtt'][0];
    expect(deadLetterId).toMatch(/^BridgeAuditDeadLetterQueue/);
    const subscription = resources('AWS::SNS::Subscription').find(
      ([, sub]) => sub.Properties.Endpoint?.['Fn::GetAtt']?.[0] === auditQueue?.[0],
    );
    // The user's filter, plus pgbridge's own rules: no backfill reads unless asked for, and a
    // targeted backfill only when it names this consumer.
    expect(subscription?.[1].Properties.FilterPolicy).toEqual({
      table: ['users'],
      action: [{ 'anything-but': ['read'] }],
      $or: [{ target: [{ exists: false }] }, { target: ['Audit'] }],
    });
  });

  it("the app's own handler file is bundled, with pgbridge/consumer inside", () => {
    const [, audit] = resources('AWS::Lambda::Function').find(([id]) => /^BridgeAuditFunction/.test(id))!;
    const hash = String(audit.Properties.Code.S3Key).replace(/\.zip$/, '');
    const bundle = readFileSync(join(assetDirectory(hash), 'index.js'), 'utf8');
    expect(bundle).toContain(HANDLER_MARKER);
    expect(bundle).toContain('PermanentFailure');
  });

  it('the built-in webhook function and the listener image come from inside the installed package', () => {
    const [, hook] = resources('AWS::Lambda::Function').find(([id]) => /^BridgeHookConsumerFunction/.test(id))!;
    expect(hook.Properties.Handler).toBe('index.handler');
    expect(readdirSync(assetDirectory(String(hook.Properties.Code.S3Key).replace(/\.zip$/, '')))).toContain('index.mjs');
    const assets = JSON.parse(readFileSync(join(app, 'cdk.out', 'AppStack.assets.json'), 'utf8'));
    const [image] = Object.values(assets.dockerImages) as { source: { directory: string } }[];
    expect(readdirSync(join(app, 'cdk.out', image!.source.directory)).sort()).toEqual(['Dockerfile', 'listener.mjs', 'sql']);
  });

  it('an app on the classic CommonJS module resolution (older cdk init, ts-node) finds the types too', async () => {
    // TypeScript 7 dropped that resolution mode; this repository's TypeScript 5 still has it.
    await run(
      join(REPO, 'node_modules', '.bin', 'tsc'),
      ['-p', 'tsconfig.json', '--module', 'commonjs', '--moduleResolution', 'node10'],
      app,
    );
  });

  it('the pgbridge CLI on the app PATH runs on plain node', async () => {
    expect(await run(join(app, 'node_modules', '.bin', 'pgbridge'), ['--help'], app)).toContain('Usage:');
    writeFileSync(join(app, 'pgbridge.config.json'), JSON.stringify({ watches: [{ table: 'users' }] }));
    expect(await run(join(app, 'node_modules', '.bin', 'pgbridge'), ['sql', '--config', 'pgbridge.config.json'], app)).toContain('BEGIN;');
  });
});
