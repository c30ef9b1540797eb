import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PgBridge, type CustomConsumerOptions } from '../../lib/cdk/index.ts';

const TEST_CDK_DIR = fileURLToPath(new URL('.', import.meta.url));
const AUDIT_HANDLER = join(TEST_CDK_DIR, 'fixtures', 'audit-handler.ts');
const outdir = mkdtempSync(join(tmpdir(), 'pgbridge-handler-file-'));
const bareApp = mkdtempSync(join(tmpdir(), 'pgbridge-bare-app-'));

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  rmSync(bareApp, { recursive: true, force: true });
});

function addConsumer(options: CustomConsumerOptions) {
  const app = new App({ outdir });
  const stack = new Stack(app, 'Handlers');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const bridge = new PgBridge(stack, 'Bridge', {
    vpc,
    database: { host: 'db.internal.example', secret: new secretsmanager.Secret(stack, 'Secret') },
    watches: [{ table: 'users' }],
  });
  bridge.addConsumer('Audit', options);
  return { stack, outdir: app.outdir };
}

describe('custom consumer handler files', () => {
  it('a relative handler is found from projectRoot and bundled, with the lockfile of the workspace above it', () => {
    const { stack, outdir: assets } = addConsumer({ handler: 'fixtures/audit-handler.ts', projectRoot: TEST_CDK_DIR });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const [, audit] = Object.entries(functions).find(([id]) => id.startsWith('BridgeAuditFunction'))!;
    const hash = String(audit.Properties.Code.S3Key).replace(/\.zip$/, '');
    expect(readFileSync(join(assets, `asset.${hash}`, 'index.js'), 'utf8')).toContain('audit:');
  });

  it('a handler file that does not exist is named, with the projectRoot it was looked for in', () => {
    expect(() => addConsumer({ handler: 'src/audit.ts', projectRoot: TEST_CDK_DIR })).toThrow(
      `Handlers/Bridge/Audit: invalid props:\n  - handler: file ${join(TEST_CDK_DIR, 'src', 'audit.ts')} does not exist (a relative handler is resolved against projectRoot ${TEST_CDK_DIR.replace(/\/$/, '')}; set projectRoot to your app's directory or give an absolute path)`,
    );
  });

  it('an app without a lockfile is told to install its dependencies or set depsLockFilePath', () => {
    copyFileSync(AUDIT_HANDLER, join(bareApp, 'audit.ts'));
    expect(() => addConsumer({ handler: 'audit.ts', projectRoot: bareApp })).toThrow(
      /no lockfile \(pnpm-lock\.yaml, yarn\.lock, bun\.lock, bun\.lockb, package-lock\.json\) in .*pgbridge-bare-app-.* or above it: install your app's dependencies, or set depsLockFilePath/,
    );
    expect(() => addConsumer({ handler: 'audit.ts', projectRoot: bareApp, depsLockFilePath: 'package-lock.json' })).toThrow(
      `depsLockFilePath: ${join(bareApp, 'package-lock.json')} does not exist`,
    );
  });

  it('a handler outside projectRoot is refused before NodejsFunction sees it', () => {
    writeFileSync(join(bareApp, 'package-lock.json'), '{}');
    expect(() => addConsumer({ handler: AUDIT_HANDLER, projectRoot: bareApp })).toThrow(
      `handler: ${AUDIT_HANDLER} must be inside projectRoot ${bareApp}`,
    );
  });
});
