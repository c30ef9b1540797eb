import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { randomInt } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { PgBridge } from '../../lib/cdk/pg-bridge.ts';
import { WebhookConsumer } from '../../lib/cdk/webhook-consumer.ts';
import { WebhookSigner } from '../../lib/consumers/webhook-signature.ts';

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** A value as Secrets Manager generates it from a GenerateSecretString (the options the construct may use). */
function generatedLike(options: {
  PasswordLength?: number;
  ExcludePunctuation?: boolean;
  IncludeSpace?: boolean;
  ExcludeCharacters?: string;
}): string {
  const alphabet = [
    ...`ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789${options.ExcludePunctuation ? '' : PUNCTUATION}${options.IncludeSpace ? ' ' : ''}`,
  ].filter((character) => !(options.ExcludeCharacters ?? '').includes(character));
  return Array.from({ length: options.PasswordLength ?? 32 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

describe('WebhookConsumer signing secret', () => {
  it('the secret generated when none is given is a Standard Webhooks key: receivers verify deliveries with it, with or without "whsec_"', () => {
    // Skipping the Lambda bundling keeps this a template-only synth.
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
    const bridge = new PgBridge(stack, 'Bridge', {
      vpc: new ec2.Vpc(stack, 'Vpc'),
      database: { host: 'db.internal.example', secret: new secretsmanager.Secret(stack, 'DatabaseSecret') },
      watches: [{ table: 'orders' }],
    });
    const consumer = new WebhookConsumer(stack, 'Orders', { bridge, url: 'https://hooks.example.com/orders' });
    const signingSecret = stack.getLogicalId(consumer.secret.node.defaultChild as secretsmanager.CfnSecret);
    const options = Template.fromStack(stack).toJSON().Resources[signingSecret].Properties.GenerateSecretString;
    expect(options).toBeDefined();

    for (let attempt = 0; attempt < 20; attempt++) {
      const value = generatedLike(options);
      const body = '{"id":"1842","table":"orders"}';
      const headers = new WebhookSigner(value, 'the generated secret').sign('1842', body);
      expect(new Webhook(`whsec_${value}`).verify(body, { ...headers })).toEqual({ id: '1842', table: 'orders' });
      expect(new Webhook(value).verify(body, { ...headers })).toEqual({ id: '1842', table: 'orders' });
    }
  });
});
