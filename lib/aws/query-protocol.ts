// The AWS Query protocol, the one SNS speaks: a form-encoded request, an XML answer. The
// listener's hot path builds and reads these by hand because the SDK's generic serializer,
// middleware stack and XML parser cost it about three times the CPU per event (bench/).
// test/aws/ checks both directions against the SDK's own codec.

/** Form encoding as the SDK writes it (RFC 3986: `!'()*` escaped too). */
export function queryEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `name=value` pairs joined into a request body; values are encoded here. */
export function queryForm(params: Iterable<readonly [string, string]>): string {
  let form = '';
  for (const [name, value] of params) form += `${form === '' ? '' : '&'}${name}=${queryEncode(value)}`;
  return form;
}

const XML_ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(lt|gt|amp|quot|apos));/g;
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeXmlText(text: string): string {
  return text.replace(XML_ENTITY, (_, hex: string | undefined, decimal: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED_ENTITIES[name]!;
    const codePoint = hex !== undefined ? parseInt(hex, 16) : parseInt(decimal!, 10);
    // Not a character (XML forbids it): keep the text readable rather than fail the whole answer.
    return codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : '\uFFFD';
  });
}

/** The text of the first `<tag>` in `xml` (entities decoded), or undefined. */
export function xmlText(xml: string, tag: string): string | undefined {
  const open = xml.indexOf(`<${tag}>`);
  if (open < 0) return undefined;
  const start = open + tag.length + 2;
  const end = xml.indexOf(`</${tag}>`, start);
  return end < 0 ? undefined : decodeXmlText(xml.slice(start, end));
}

/** The inner XML of every `<member>` of the list element `<tag>` (an empty `<tag/>` has none). */
export function xmlListMembers(xml: string, tag: string): string[] {
  const list = xmlElementBody(xml, tag);
  if (list === undefined) return [];
  const members: string[] = [];
  let at = 0;
  for (;;) {
    const open = list.indexOf('<member>', at);
    if (open < 0) return members;
    const close = list.indexOf('</member>', open);
    if (close < 0) return members;
    members.push(list.slice(open + '<member>'.length, close));
    at = close + '</member>'.length;
  }
}

function xmlElementBody(xml: string, tag: string): string | undefined {
  const open = xml.indexOf(`<${tag}>`);
  if (open < 0) return undefined;
  const close = xml.indexOf(`</${tag}>`, open);
  return close < 0 ? undefined : xml.slice(open + tag.length + 2, close);
}

/**
 * A Query call AWS refused as a whole. Shaped like the SDK's service exceptions (`name` is the
 * error code, `$fault`, `$metadata.httpStatusCode`) so callers and logs treat both alike.
 */
export class AwsQueryError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId?: string };

  constructor(code: string, message: string, fault: 'client' | 'server', httpStatusCode: number, requestId?: string) {
    super(message);
    this.name = code;
    this.$fault = fault;
    this.$metadata = { httpStatusCode, ...(requestId ? { requestId } : {}) };
  }
}

/** The error of a non-2xx answer: `<ErrorResponse><Error><Type/><Code/><Message/>`, or the bare status. */
export function queryErrorFrom(httpStatusCode: number, xml: string): AwsQueryError {
  const type = xmlText(xml, 'Type');
  const code = xmlText(xml, 'Code') ?? `Http${httpStatusCode}`;
  const message = xmlText(xml, 'Message') ?? (xml.trim().slice(0, 200) || `HTTP ${httpStatusCode}`);
  const fault = type === 'Sender' || (type === undefined && httpStatusCode < 500) ? 'client' : 'server';
  return new AwsQueryError(code, message, fault, httpStatusCode, xmlText(xml, 'RequestId'));
}
