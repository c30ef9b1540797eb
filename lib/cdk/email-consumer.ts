import { Arn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { templateProblems } from '../consumers/event-template.ts';
import { ChangeConsumer, type BridgeConsumerProps, type ConsumerOptions } from './change-consumer.ts';
import { isToken, PropsCheck } from './props-validation.ts';

export interface EmailConsumerOptions extends ConsumerOptions {
  /** Sender, `noreply@example.com` or `Example <noreply@example.com>`: an SES verified identity. */
  readonly from: string;
  /** Recipients: addresses or templates such as `{{row.email}}` (the user who signed up). */
  readonly to: string | string[];
  /** Template, e.g. `New signup: {{row.name}}`. */
  readonly subject: string;
  /** Plain-text body template. */
  readonly text: string;
  /** HTML body template; values are HTML-escaped. @default text only */
  readonly html?: string;
  /**
   * The SES identities the function's `ses:SendEmail` permission names (its only resources).
   * While the account is in the SES sandbox, SES also checks the recipients' identities: add
   * the verified recipient addresses here, or send to the sender address itself.
   * @default the domain of `from` and the address itself
   */
  readonly sesIdentity?: string | string[];
}

export interface EmailConsumerProps extends EmailConsumerOptions, BridgeConsumerProps {}

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** Sends an email through SES for each change event that passes the filter. */
export class EmailConsumer extends Construct {
  readonly consumer: ChangeConsumer;

  constructor(scope: Construct, id: string, props: EmailConsumerProps) {
    super(scope, id);
    const to = typeof props.to === 'string' ? [props.to] : props.to;
    const sender = /<([^<>]+)>\s*$/.exec(props.from)?.[1] ?? props.from.trim();
    const check = new PropsCheck(this.node.path)
      .require(
        isToken(props.from) || ADDRESS.test(sender),
        `from: "${props.from}" is not an email address (write "noreply@example.com" or "Name <noreply@example.com>")`,
      )
      .require(to.length > 0, 'to cannot be empty: give at least one address or a template such as "{{row.email}}"');
    for (const recipient of to) {
      check.require(
        isToken(recipient) || ADDRESS.test(recipient) || /\{\{.+\}\}/.test(recipient),
        `to: "${recipient}" is neither an email address nor a template such as "{{row.email}}"`,
      );
    }
    for (const [field, template] of Object.entries({ to: to.join(' '), subject: props.subject, text: props.text, html: props.html })) {
      if (template === undefined || isToken(template)) continue;
      check.require(field === 'to' || template.trim() !== '', `${field} cannot be empty`);
      for (const problem of templateProblems(template)) check.require(false, `${field}: ${problem}`);
    }
    check.throwIfInvalid();

    this.consumer = new ChangeConsumer(this, 'Consumer', {
      ...props,
      name: props.name ?? id,
      builtIn: 'email-handler',
      maxConcurrency: props.maxConcurrency ?? 2,
      environment: {
        ...props.environment,
        PGBRIDGE_EMAIL_FROM: props.from,
        PGBRIDGE_EMAIL_TO: JSON.stringify(to),
        PGBRIDGE_EMAIL_SUBJECT: props.subject,
        PGBRIDGE_EMAIL_TEXT: props.text,
        ...(props.html !== undefined ? { PGBRIDGE_EMAIL_HTML: props.html } : {}),
      },
    });

    const identities = props.sesIdentity ?? (isToken(sender) ? [sender] : [sender.slice(sender.indexOf('@') + 1), sender]);
    this.consumer.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: (typeof identities === 'string' ? [identities] : identities).map((identity) =>
          Arn.format({ service: 'ses', resource: 'identity', resourceName: identity }, Stack.of(this)),
        ),
        // Even with the identity granted, the function may only send as this exact sender.
        conditions: isToken(sender) ? undefined : { StringEquals: { 'ses:FromAddress': sender } },
      }),
    );
  }
}
