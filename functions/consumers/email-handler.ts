/** Lambda entry point of `bridge.addEmailConsumer(...)`; configured through its environment. */
import { createEmailConsumer, emailTemplatesFromEnvironment } from '../../lib/consumers/email-consumer.ts';

export const handler = createEmailConsumer(emailTemplatesFromEnvironment());
