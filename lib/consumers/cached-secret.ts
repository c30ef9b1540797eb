import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Reads a Secrets Manager secret once per `ttlMs` per Lambda instance: one API call per cold start
 * instead of one per event, while a rotated secret is still picked up within the TTL.
 */
export function cachedSecret(
  secretId: string,
  { ttlMs = 5 * 60_000, client }: { ttlMs?: number; client?: SecretsManagerClient } = {},
): () => Promise<string> {
  let value: Promise<string> | undefined;
  let fetchedAt = 0;
  return () => {
    if (!value || Date.now() - fetchedAt > ttlMs) {
      fetchedAt = Date.now();
      client ??= new SecretsManagerClient({});
      value = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((result) => {
        if (result.SecretString === undefined) throw new Error(`secret ${secretId} has no string value`);
        return result.SecretString;
      });
      // A failed read must not stay cached for the whole TTL.
      value.catch(() => (value = undefined));
    }
    return value;
  };
}
