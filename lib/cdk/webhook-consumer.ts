import { Duration } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EVENT_ID_HEADER, SIGNATURE_HEADER } from '../consumers/webhook-signature.ts';
import { ChangeConsumer, type ChangeConsumerProps, type ConsumerOptions } from './change-consumer.ts';
import { isToken, PropsCheck } from './props-validation.ts';

export interface WebhookConsumerOptions extends ConsumerOptions {
  /** Where each change event is POSTed (JSON body, as published). */
  readonly url: string;
  /**
   * Signing secret (the whole SecretString is the HMAC key). Receivers verify the
   * `pgbridge-signature` header with it: see lib/consumers/webhook-signature.ts.
   * @default a new generated secret (read it in the Secrets Manager console and give it to the receiver)
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

export interface WebhookConsumerProps extends WebhookConsumerOptions, Pick<ChangeConsumerProps, 'topic' | 'alarmActions'> {}

const RESERVED_HEADERS = ['content-type', 'content-length', 'host', SIGNATURE_HEADER, EVENT_ID_HEADER];

/** POSTs each change event that passes the filter to a URL, signed with HMAC-SHA256. */
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
      if (url) check.require(url.protocol === 'https:' || url.protocol === 'http:', `url: "${props.url}" must start with https:// (or http://)`);
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
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
    this.consumer = new ChangeConsumer(this, 'Consumer', {
      ...props,
      builtIn: 'webhook-handler',
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
