import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.ts';

/** `sql/` of the package (checkout or installed); a bundle (the listener image) points PGBRIDGE_SQL_DIR at its copy. */
export const SQL_DIR = process.env.PGBRIDGE_SQL_DIR ?? join(packageRoot(), 'sql');

/** The numbered schema files (`sql/001-*.sql`, ...), in order: what `install` applies. */
export function schemaSql(): string {
  return readdirSync(SQL_DIR)
    .filter((file) => /^\d{3}-.*\.sql$/.test(file))
    .sort()
    .map((file) => readFileSync(join(SQL_DIR, file), 'utf8'))
    .join('\n');
}

const cache = new Map<string, string>();

/** One statement from `sql/<name>.sql`, e.g. `statement('drain/fetch-events')`. */
export function statement(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(SQL_DIR, `${name}.sql`), 'utf8');
    cache.set(name, text);
  }
  return text;
}
