// A watch's `when` is pasted into `CREATE TRIGGER ... WHEN (...)`, and a dynamic EXECUTE in
// PL/pgSQL runs every statement of its string. So before Postgres parses the condition itself
// (and reports its own errors), we make sure it cannot end the expression it is placed in: no
// statement separator, no comment that would swallow the rest of the trigger definition, no
// parenthesis closed that it did not open. Literals and quoted identifiers are skipped the way
// Postgres' lexer does (standard_conforming_strings on, as install sets it).

const IDENTIFIER_CHAR = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/;

/** Why `condition` cannot be used as a trigger's WHEN expression, or undefined when it can. */
export function rowConditionProblem(condition: string): string | undefined {
  let depth = 0;
  let i = 0;
  while (i < condition.length) {
    const char = condition[i]!;
    const next = condition[i + 1];
    if (char === "'") {
      const escapes = i > 0 && /[Ee]/.test(condition[i - 1]!) && (i < 2 || !IDENTIFIER_CHAR.test(condition[i - 2]!));
      const end = closingQuote(condition, i + 1, "'", escapes);
      if (end === -1) return 'a string literal is not closed';
      i = end + 1;
    } else if (char === '"') {
      const end = closingQuote(condition, i + 1, '"', false);
      if (end === -1) return 'a quoted identifier is not closed';
      i = end + 1;
    } else if (char === '$' && (i === 0 || !IDENTIFIER_CHAR.test(condition[i - 1]!)) && DOLLAR_TAG.test(condition.slice(i))) {
      const tag = DOLLAR_TAG.exec(condition.slice(i))![0];
      const end = condition.indexOf(tag, i + tag.length);
      if (end === -1) return `a ${tag}-quoted string is not closed`;
      i = end + tag.length;
    } else if (char === ';') {
      return 'a condition is one expression: ";" is not allowed outside quotes';
    } else if ((char === '-' && next === '-') || (char === '/' && next === '*')) {
      return 'comments are not allowed in a condition';
    } else {
      if (char === '(') depth++;
      if (char === ')' && --depth < 0) return 'a ")" closes a parenthesis the condition did not open';
      i++;
    }
  }
  if (depth > 0) return 'a "(" is not closed';
  return undefined;
}

/** Index of the quote that ends a literal starting at `from` (a doubled quote is part of it). */
function closingQuote(text: string, from: number, quote: string, backslashEscapes: boolean): number {
  for (let i = from; i < text.length; i++) {
    if (backslashEscapes && text[i] === '\\') {
      i++;
    } else if (text[i] === quote) {
      if (text[i + 1] !== quote) return i;
      i++;
    }
  }
  return -1;
}
