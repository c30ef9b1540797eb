/**
 * Starts a local service on its usual port, so that the URLs and commands the demo prints stay
 * the same from run to run, or on any free port when another process holds it. Checking the
 * port first would not do: two demos starting together both find it free, and one loses the bind.
 */
export async function startOnPreferredPort<T>(preferred: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(preferred);
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') throw error;
    return start(0);
  }
}
