/** A configuration the user must fix: the message names the bad field, table or column. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** Each problem on its own, when there are several (the message lists them under one heading). */
  readonly problems: readonly string[];
  constructor(message: string, options: { cause?: unknown; problems?: readonly string[] } = {}) {
    super(message, { cause: options.cause });
    this.problems = options.problems ?? [message];
  }
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
