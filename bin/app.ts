/**
 * The example CDK app: `npx cdk synth` (no credentials, no lookups), `npx cdk deploy`.
 * Context: `-c fromEmail=you@yourdomain` (an SES verified identity), `-c webhookUrl=https://...`,
 * `-c alarmEmail=oncall@yourdomain` (who the alarms email).
 * cdk-nag's AWS Solutions checks run on every synth: an unacknowledged finding fails it, and
 * validation-report.json in cdk.out lists each finding acknowledged, with its reason.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PgBridgeExampleStack } from '../lib/cdk/example-stack.ts';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
new PgBridgeExampleStack(app, 'PgBridgeExample', {
  fromEmail: app.node.tryGetContext('fromEmail') ?? 'pgbridge@example.com',
  webhookUrl: app.node.tryGetContext('webhookUrl') ?? 'https://example.com/pgbridge-webhook',
  alarmEmails: app.node.tryGetContext('alarmEmail') ? [app.node.tryGetContext('alarmEmail')] : undefined,
});
