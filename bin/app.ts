/**
 * The example CDK app: `npx cdk synth` (no credentials, no lookups), `npx cdk deploy`.
 * Context: `-c fromEmail=you@yourdomain` (an SES verified identity), `-c webhookUrl=https://...`.
 */
import { App } from 'aws-cdk-lib';
import { PgBridgeExampleStack } from '../lib/cdk/example-stack.ts';

const app = new App();
new PgBridgeExampleStack(app, 'PgBridgeExample', {
  fromEmail: app.node.tryGetContext('fromEmail') ?? 'pgbridge@example.com',
  webhookUrl: app.node.tryGetContext('webhookUrl') ?? 'https://example.com/pgbridge-webhook',
});
