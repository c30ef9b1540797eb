import { Duration } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from '../consumers/webhook-signature.ts';
import { ChangeConsumer, type BridgeConsumerProps, type ConsumerOptions } from './change-consumer.ts';
import { acknowledgeAwsSolutionsFindings } from './nag-acknowledgements.ts';
import { isToken, PropsCheck } from './props-validation.ts';

export interface WebhookConsumerOptions extends ConsumerOptions {
  /** Where each change event is POSTed (JSON body, as published). */
  readonly url: string;
  /**
   * Signing secret, a Standard Webhooks secret: its SecretString is "whsec_" followed by the
   * base64 of 24 to 64 random bytes (or, during a rotation, the new and the old one separated
   * by a space: deliveries are then signed with both). Receivers verify the `webhook-*` headers
   * with it, e.g. with the `standardwebhooks` or `svix` library. A value in another form fails
   * every delivery with an error saying what to store, and the events wait for the fix.
   * @default a generated secret of 48 letters and digits, the base64 of a 36-byte key (read it in the Secrets Manager console; receivers take it with or without a "whsec_" prefix)
   */
  readonly secret?: secretsmanager.ISecret;
  /**
   * Per attempt; the answer must arrive within it, else the event is retried.
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;
  /** Static extra headers (not secrets: they are visible in the function configuration). @default none */
  readonly headers?: Record<string, string>;
  /**
   * Allow targets that resolve to private, loopback or link-local addresses (VPC-internal
   * receivers). Off, such targets are refused, so the webhook cannot be turned against the
   * network it runs in.
   * @default false
   */
  readonly allowPrivateTargets?: boolean;
}

export interface WebhookConsumerProps extends WebhookConsumerOptions, BridgeConsumerProps {}

const RESERVED_HEADERS = ['content-type', 'content-length', 'host', WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_SIGNATURE_HEADER];

/** POSTs each change event that passes the filter to a URL, signed per Standard Webhooks (HMAC-SHA256). */
export class WebhookConsumer extends Construct {
  readonly consumer: ChangeConsumer;
  readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: WebhookConsumerProps) {
    super(scope, id);
    const requestTimeout = props.timeout ?? Duration.seconds(5);
    const functionTimeout = props.functionTimeout ?? Duration.seconds(30);
    const check = new PropsCheck(this.node.path);
    if (!isToken(props.url)) {
      let url: URL | undefined;
      try {
        url = new URL(props.url);
      } catch {
        check.require(false, `url: "${props.url}" is not a URL (write e.g. "https://hooks.example.com/pgbridge")`);
      }
      if (url)
        check.require(url.protocol === 'https:' || url.protocol === 'http:', `url: "${props.url}" must start with https:// (or http://)`);
    }
    check.require(
      requestTimeout.toMilliseconds() < functionTimeout.toMilliseconds(),
      `timeout (${requestTimeout.toSeconds()} s) must be shorter than functionTimeout (${functionTimeout.toSeconds()} s)`,
    );
    for (const name of Object.keys(props.headers ?? {})) {
      check.require(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name), `headers: "${name}" is not a valid header name`);
      check.require(!RESERVED_HEADERS.includes(name.toLowerCase()), `headers: "${name}" is set by pgbridge and cannot be overridden`);
    }
    check.throwIfInvalid();

    this.secret =
      props.secret ??
      new secretsmanager.Secret(this, 'SigningSecret', {
        description: `pgbridge webhook signing secret for ${this.node.path}`,
        // Secrets Manager cannot add the "whsec_" prefix; letters and digits alone are base64, so
        // 48 of them are the bare form of a 36-byte key, which every Standard Webhooks library
        // takes. Unchanged since before Standard Webhooks: CloudFormation generates a new value
        // whenever these options change, which would replace the secret of existing deployments.
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
    if (!props.secret) {
      acknowledgeAwsSolutionsFindings(this.secret, {
        SMG4: 'The receiver holds a copy of this signing key to verify signatures: rotating it is a change made together with the receiver, which a rotation function cannot do alone.',
      });
    }
    this.consumer = new ChangeConsumer(this, 'Consumer', {
      ...props,
      name: props.name ?? id,
      builtIn: 'webhook-handler',
      maxConcurrency: props.maxConcurrency ?? 2,
      environment: {
        ...props.environment,
        PGBRIDGE_WEBHOOK_URL: props.url,
        // The ARN, never the value: the function reads the secret at run time.
        PGBRIDGE_WEBHOOK_SECRET_ARN: this.secret.secretArn,
        PGBRIDGE_WEBHOOK_TIMEOUT_MS: String(requestTimeout.toMilliseconds()),
        PGBRIDGE_WEBHOOK_HEADERS: JSON.stringify(props.headers ?? {}),
        PGBRIDGE_WEBHOOK_ALLOW_PRIVATE_TARGETS: String(props.allowPrivateTargets ?? false),
      },
    });
    this.secret.grantRead(this.consumer.function);
  }
}
