/**
 * SIGTERM (ECS stopping a task) and SIGINT: finish the round in flight, then exit 0. A second
 * signal, or `graceMs` without finishing, exits at once: the outbox still holds every event
 * that was not acknowledged, so nothing is lost either way.
 */
export function exitOnSignals(stop: () => Promise<void>, graceMs = 25_000): void {
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(1), graceMs).unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
