// How long the listener may take to publish one chunk: a live event written meanwhile waits
// behind the chunk's events, so this is about the extra delay a backfill adds to live events.
const TARGET_PUBLISH_MS = 100;
const MIN_CHUNK = 10;
const FIRST_CHUNK = 100;

/**
 * Sizes the next chunk from how fast the listener published the previous one, so that a chunk
 * takes about TARGET_PUBLISH_MS to go out whatever the listener's pace (a busy database, a slow
 * sink), never more than the user's `--chunk` rows.
 */
export class ChunkPacer {
  private current: number;

  constructor(private readonly maxRows: number) {
    this.current = Math.min(maxRows, FIRST_CHUNK);
  }

  get size(): number {
    return this.current;
  }

  /** `rows` of the previous chunk were published `elapsedMs` after it was committed. */
  published(rows: number, elapsedMs: number): void {
    if (rows === 0) return;
    const fitting = Math.round((rows * TARGET_PUBLISH_MS) / Math.max(elapsedMs, 1));
    // At most doubling per chunk: one fast round trip is no promise about the next.
    this.current = Math.max(MIN_CHUNK, Math.min(this.maxRows, fitting, this.current * 2));
  }
}
