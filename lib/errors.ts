/** A configuration the user must fix: the message names the bad field, table or column. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `install` refused the watches (unknown table or column, ...); nothing was installed. */
export class InstallError extends Error {
  override name = 'InstallError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The installed pgbridge schema is older or newer than this code can work with. */
export class SchemaVersionError extends InstallError {
  override name = 'SchemaVersionError';
}
