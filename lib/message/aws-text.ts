// SNS and SQS accept #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. Postgres'
// JSON output already escapes control characters; what is left to handle is U+FFFE/U+FFFF
// (rejected by AWS) and characters above U+FFFF (accepted by AWS, rejected by some emulators).
// Inside JSON, a \uXXXX escape parses back to the identical string, so escaping them is free.
const NEEDS_ESCAPE = /[\u{10000}-\u{10FFFF}\uFFFE\uFFFF]/u;
const NEEDS_ESCAPE_ALL = /[\u{10000}-\u{10FFFF}\uFFFE\uFFFF]/gu;

/** Escapes the characters above for use in a JSON text (they can only occur inside strings). */
export function escapeJsonForAws(json: string): string {
  if (!NEEDS_ESCAPE.test(json)) return json;
  return json.replace(NEEDS_ESCAPE_ALL, (char) => {
    let escaped = '';
    for (let i = 0; i < char.length; i++) escaped += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return escaped;
  });
}

// Characters AWS refuses in any message text, including attribute values.
const INVALID_FOR_AWS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function isValidAwsText(text: string): boolean {
  return !INVALID_FOR_AWS.test(text);
}
