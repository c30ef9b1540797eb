import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.ts';

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802 / RFC 7677, the format
 * of `pg_authid.rolpassword`), computed here as psql's `\password` does. `CREATE/ALTER ROLE ...
 * PASSWORD` given a verifier stores it as is, so the clear password never reaches the server,
 * where `log_statement = 'ddl'` (common on RDS) would write the statement to the server log.
 */
export function scramSha256Verifier(password: string, { salt = randomBytes(16), iterations = 4096 } = {}): string {
  // PostgreSQL applies SASLprep to the password; printable ASCII is left unchanged by it, so
  // limiting passwords to it keeps this computation equal to the server's without a SASLprep
  // implementation. Generated secrets (letters and digits) always qualify.
  if (!/^[\x21-\x7e]+$/.test(password)) {
    throw new ConfigError(
      'the listener password must be printable ASCII without spaces (generate it with letters, digits and punctuation only)',
    );
  }
  const saltedPassword = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
