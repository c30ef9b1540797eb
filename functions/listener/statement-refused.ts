/**
 * Postgres refused a statement for what it asked (an SQLSTATE outside class 08): running it
 * again will not help, unlike a lost connection, which the listener's reconnect loop handles.
 */
export function statementRefused(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && !code.startsWith('08');
}
