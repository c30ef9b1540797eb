/**
 * True when the endpoint does not implement the called action at all (an emulator, an older
 * LocalStack): fauxqs and AWS's own protocol answer `InvalidAction` for an unknown action,
 * others `NotImplemented` or HTTP 501. A caller then takes the slower path that only needs the
 * basic queue actions.
 */
export function isUnsupportedAction(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return failure.name === 'InvalidAction' || failure.name === 'NotImplemented' || failure.$metadata?.httpStatusCode === 501;
}
