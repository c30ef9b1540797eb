import { SendEmailCommand, SESClient, SESServiceException } from '@aws-sdk/client-ses';
import { z } from 'zod';
import { renderEmail, type EmailTemplates } from './email-message.ts';
import { jsonVariable, readEnvironment } from './consumer-environment.ts';
import { handleChanges, type HandleChangesOptions, type SqsBatchHandler } from './handle-changes.ts';
import { PermanentFailure } from './permanent-failure.ts';

/** SES errors that the same email will hit again on every retry. */
const PERMANENT_SES_ERRORS = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'InvalidParameterValue',
  'ConfigurationSetDoesNotExistException',
]);

/** Sends one email per change event through SES `SendEmail`, rendered from the templates. */
export function createEmailConsumer(templates: EmailTemplates, options: HandleChangesOptions & { ses?: SESClient } = {}): SqsBatchHandler {
  const ses = options.ses ?? new SESClient({});
  return handleChanges(async (event) => {
    const email = renderEmail(templates, event);
    if (email.to.length === 0) throw new PermanentFailure(`event ${event.id}: no recipient (every "to" template rendered empty)`);
    try {
      await ses.send(
        new SendEmailCommand({
          Source: email.from,
          Destination: { ToAddresses: email.to },
          Message: {
            Subject: { Data: email.subject, Charset: 'UTF-8' },
            Body: {
              Text: { Data: email.text, Charset: 'UTF-8' },
              ...(email.html !== undefined ? { Html: { Data: email.html, Charset: 'UTF-8' } } : {}),
            },
          },
        }),
      );
    } catch (error) {
      if (error instanceof SESServiceException && PERMANENT_SES_ERRORS.has(error.name)) {
        throw new PermanentFailure(`SES refused the email for event ${event.id}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }, options);
}

const environmentSchema = z.object({
  PGBRIDGE_EMAIL_FROM: z.string().min(1, 'PGBRIDGE_EMAIL_FROM is required'),
  PGBRIDGE_EMAIL_TO: jsonVariable(z.array(z.string()).min(1)),
  PGBRIDGE_EMAIL_SUBJECT: z.string().min(1),
  PGBRIDGE_EMAIL_TEXT: z.string().min(1),
  PGBRIDGE_EMAIL_HTML: z.string().optional(),
});

/** The templates the CDK EmailConsumer puts in the function's environment. */
export function emailTemplatesFromEnvironment(env: NodeJS.ProcessEnv = process.env): EmailTemplates {
  const settings = readEnvironment(environmentSchema, env, 'email');
  return {
    from: settings.PGBRIDGE_EMAIL_FROM,
    to: settings.PGBRIDGE_EMAIL_TO,
    subject: settings.PGBRIDGE_EMAIL_SUBJECT,
    text: settings.PGBRIDGE_EMAIL_TEXT,
    ...(settings.PGBRIDGE_EMAIL_HTML ? { html: settings.PGBRIDGE_EMAIL_HTML } : {}),
  };
}
