import type { Server } from 'node:http';

/** An email as an SES endpoint recorded it. */
export interface SentEmail {
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
}

export interface LocalSes {
  endpoint: string;
  stop(): Promise<void>;
}

/** The SES emulator from npm (aws-ses-v2-local), in this process, on 127.0.0.1. */
export async function startLocalSes(port = 0): Promise<LocalSes> {
  const module = (await import('aws-ses-v2-local')) as unknown as { default: { default?: unknown } };
  // aws-ses-v2-local is TypeScript compiled to CommonJS (`exports.default = server`); Node imports
  // a CommonJS module.exports as the default export, so the server function is `default.default`.
  const start = (module.default.default ?? module.default) as (config: { host: string; port: number }) => Promise<Server>;
  const server = await start({ host: '127.0.0.1', port });
  // Express 5 hands a failed bind to the listen callback, which aws-ses-v2-local takes for
  // success: the server it returns then listens nowhere.
  if (!server.listening) {
    throw Object.assign(new Error(`the SES emulator could not listen on 127.0.0.1:${port}: the port is taken`), { code: 'EADDRINUSE' });
  }
  const { port: actual } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${actual}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Emails an SES endpoint has accepted so far: aws-ses-v2-local's `GET /store`, or LocalStack's
 * `GET /_aws/ses` when the endpoint is LocalStack.
 */
export async function sentEmails(endpoint: string): Promise<SentEmail[]> {
  const store = await fetch(new URL('/store', endpoint));
  if (store.ok) {
    const { emails } = (await store.json()) as {
      emails: Array<{ from: string; destination: { to: string[] }; subject: string; body: { text?: string; html?: string } }>;
    };
    return emails.map((email) => ({
      from: email.from,
      to: email.destination.to,
      subject: email.subject,
      text: email.body.text,
      html: email.body.html,
    }));
  }
  const localstack = await fetch(new URL('/_aws/ses', endpoint));
  if (!localstack.ok) throw new Error(`${endpoint} answers neither GET /store (aws-ses-v2-local) nor GET /_aws/ses (LocalStack)`);
  const { messages } = (await localstack.json()) as {
    messages: Array<{
      Source: string;
      Destination: { ToAddresses: string[] };
      Subject: string;
      Body: { text_part?: string; html_part?: string };
    }>;
  };
  return messages.map((message) => ({
    from: message.Source,
    to: message.Destination.ToAddresses,
    subject: message.Subject,
    text: message.Body.text_part,
    html: message.Body.html_part,
  }));
}
