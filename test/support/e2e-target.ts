/**
 * Where the end-to-end tests run: the npm emulators by default, or the endpoint in
 * AWS_ENDPOINT_URL (LocalStack). Resolves to a reason to skip when that endpoint does not answer.
 */
export async function e2eSkipReason(): Promise<string | undefined> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) return undefined;
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
    return undefined;
  } catch {
    return `nothing answers at AWS_ENDPOINT_URL=${endpoint}: start LocalStack (localstack start) or unset AWS_ENDPOINT_URL to use the npm emulators`;
  }
}
