import type { ChangeEvent } from '../message/change-event.ts';
import { CHANGE_EVENT_FIELDS, isChangeEventField } from './event-fields.ts';

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

export type TemplateMode = 'text' | 'html';

/**
 * Why a template cannot work, one line per problem (empty when it is fine). Checked at synth time
 * so that a typo such as `{{rows.name}}` fails `cdk synth` instead of sending empty emails.
 */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const [, path = ''] of template.matchAll(PLACEHOLDER)) {
    if (!PATH.test(path)) {
      problems.push(`"{{${path}}}" is not a field path (write e.g. {{row.name}})`);
      continue;
    }
    const root = path.split('.')[0]!;
    if (!isChangeEventField(root)) {
      problems.push(`"{{${path}}}": unknown field "${root}" (use one of ${CHANGE_EVENT_FIELDS.join(', ')})`);
    }
  }
  return problems;
}

/**
 * Replaces each `{{path}}` with the value at that path in the event. Missing values render as an
 * empty string, objects as JSON. In `html` mode every value is HTML-escaped, because row values
 * are user input (a user named `<script>` must not become markup in an email).
 */
export function renderTemplate(template: string, event: ChangeEvent<unknown>, mode: TemplateMode = 'text'): string {
  return template.replace(PLACEHOLDER, (_match, path: string) => {
    const text = formatValue(valueAt(event, path));
    return mode === 'html' ? escapeHtml(text) : text;
  });
}

function valueAt(event: ChangeEvent<unknown>, path: string): unknown {
  let value: unknown = event;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}
