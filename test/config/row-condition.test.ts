import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/watch-config.ts';
import { rowConditionProblem } from '../../lib/config/row-condition.ts';

describe('watch options: when, truncate, coalesce', () => {
  it.each([
    "NEW.status = 'paid' AND NEW.total > 100",
    "NEW.note = 'a; b -- c /* d */ (e'",
    "NEW.note = E'it\\'s; (' OR NEW.note = 'it''s'",
    'NEW."odd; ""name"" (" IS NOT NULL',
    "NEW.doc->>'k' = $$x; -- ($$ OR NEW.doc->>'k' = $q$)$q$",
    'coalesce(NEW.a, OLD.a) <> (NEW.b - 1) * 2',
    'NEW.price$usd > 0',
  ])('accepts one expression, whatever its literals hold: %s', (condition) => {
    expect(rowConditionProblem(condition)).toBeUndefined();
  });

  it.each([
    ['NEW.a = 1); DROP TABLE users; --', 'a ")" closes a parenthesis the condition did not open'],
    ['NEW.a = 1; DROP TABLE users', 'a condition is one expression: ";" is not allowed outside quotes'],
    ['NEW.a = 1 -- and more', 'comments are not allowed in a condition'],
    ['NEW.a = 1 /* and more */', 'comments are not allowed in a condition'],
    ["NEW.a = 'open", 'a string literal is not closed'],
    ["NEW.a = E'open\\'", 'a string literal is not closed'],
    ['NEW."open = 1', 'a quoted identifier is not closed'],
    ['NEW.a = $x$open', 'a $x$-quoted string is not closed'],
    ['(NEW.a = 1', 'a "(" is not closed'],
  ])('refuses what could end the trigger definition it is placed in: %s', (condition, problem) => {
    expect(rowConditionProblem(condition)).toBe(problem);
  });

  it('is carried into the validated watch; truncate is an action, not one of the defaults; coalesce becomes milliseconds', () => {
    const [filtered, truncating, coalescing] = parseConfig({
      watches: [
        { table: 'orders', when: "  NEW.status = 'paid'  " },
        { table: 'ledger', actions: ['truncate', 'insert'] },
        { table: 'hot', coalesce: '2s' },
      ],
    });
    expect(filtered).toMatchObject({ actions: ['insert', 'update', 'delete'], when: "NEW.status = 'paid'" });
    expect(truncating!.actions).toEqual(['insert', 'truncate']);
    expect(coalescing!.coalesce).toBe(2000);
  });

  it.each([
    [{ table: 'orders', when: '' }, /watches\[0\] \(orders\)\.when: when cannot be empty/],
    [{ table: 'orders', when: 42 }, /watches\[0\] \(orders\)\.when: when must be an SQL condition/],
    [
      { table: 'orders', when: 'NEW.a = 1; DROP TABLE orders' },
      /watches\[0\] \(orders\)\.when: a condition is one expression: ";" is not allowed outside quotes \(in "NEW.a = 1; DROP TABLE orders"\)/,
    ],
    [{ table: 'orders', actions: ['upsert'] }, /actions\[0\]: "upsert" is not an action \(insert, update, delete, truncate\)/],
    [{ table: 'orders', coalesce: '2 seconds' }, /watches\[0\] \(orders\)\.coalesce: coalesce must be a duration such as "2s" or "500ms"/],
    [{ table: 'orders', coalesce: '10m' }, /coalesce must be between 10ms and 5m/],
    [
      { table: 'orders', actions: ['insert'], coalesce: '2s' },
      /watches\[0\] \(orders\)\.coalesce: coalesce merges updates: actions must include "update"/,
    ],
  ])('a bad when or action (%j) is refused naming the watch, the field and the value', (watch, message) => {
    expect(() => parseConfig({ watches: [watch] })).toThrow(message);
  });
});
