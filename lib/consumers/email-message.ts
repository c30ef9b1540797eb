import type { ChangeEvent } from '../message/change-event.ts';
import { renderTemplate } from './event-template.ts';

/** An email as the user declares it: every field but `from` is a template over the change event. */
export interface EmailTemplates {
  from: string;
  /** Addresses or templates such as `{{row.email}}`. */
  to: string[];
  subject: string;
  text: string;
  /** Values are HTML-escaped when rendered. */
  html?: string;
}

export interface RenderedEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html?: string;
}

export function renderEmail(templates: EmailTemplates, event: ChangeEvent<unknown>): RenderedEmail {
  const email: RenderedEmail = {
    from: templates.from,
    to: templates.to.map((recipient) => renderTemplate(recipient, event).trim()).filter((recipient) => recipient !== ''),
    // A line break in a row value must not become a second header line.
    subject: renderTemplate(templates.subject, event).replace(/[\r\n]+/g, ' '),
    text: renderTemplate(templates.text, event),
  };
  if (templates.html !== undefined) email.html = renderTemplate(templates.html, event, 'html');
  return email;
}
