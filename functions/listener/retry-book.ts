/** Failed events waiting for another attempt: the listener's memory of backoff, per event. */
interface Entry {
  attempts: number;
  /** Rejections for the content itself (SenderFault); past a threshold the event is parked. */
  rejections: number;
  notBefore: number;
  groupId?: string;
}

const STALE_AFTER_MS = 5 * 60_000;

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

export class RetryBook {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly policy: RetryPolicy) {}

  /** Exponential backoff with full jitter: failed entries of one burst do not retry in lockstep. */
  recordFailure(id: string, groupId: string | undefined, rejected: boolean, now = Date.now()): Entry {
    const entry = this.entries.get(id) ?? { attempts: 0, rejections: 0, notBefore: 0, groupId };
    entry.attempts++;
    if (rejected) entry.rejections++;
    const ceiling = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (entry.attempts - 1));
    entry.notBefore = now + ceiling / 2 + Math.random() * (ceiling / 2);
    this.entries.set(id, entry);
    return entry;
  }

  /**
   * FIFO: events that must wait behind an earlier event of their row (which is in backoff) wait
   * exactly as long, without counting an attempt. Leaving them out of the fetch until then keeps
   * the drain from re-reading them every round (a busy loop that would also starve other rows
   * once a hot row's held events filled a whole round).
   */
  hold(events: { id: string; groupId: string }[], now = Date.now()): void {
    if (events.length === 0) return;
    const blockedUntil = new Map<string, number>();
    for (const entry of this.entries.values()) {
      if (entry.groupId && entry.attempts > 0 && entry.notBefore > now) {
        blockedUntil.set(entry.groupId, Math.max(blockedUntil.get(entry.groupId) ?? 0, entry.notBefore));
      }
    }
    for (const { id, groupId } of events) {
      const until = blockedUntil.get(groupId) ?? now + this.policy.baseDelayMs;
      const entry = this.entries.get(id) ?? { attempts: 0, rejections: 0, notBefore: 0, groupId };
      entry.notBefore = Math.max(entry.notBefore, until);
      this.entries.set(id, entry);
    }
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  /** Ids still inside their backoff: the drain skips them. */
  waitingIds(now = Date.now()): string[] {
    const ids: string[] = [];
    for (const [id, entry] of this.entries) if (entry.notBefore > now) ids.push(id);
    return ids;
  }

  /** FIFO: groups whose oldest event is waiting out a backoff; the rest of the group waits too. */
  blockedGroups(now = Date.now()): Set<string> {
    const groups = new Set<string>();
    for (const entry of this.entries.values()) if (entry.groupId && entry.notBefore > now) groups.add(entry.groupId);
    return groups;
  }

  /** When the earliest waiting entry becomes due, if any. */
  nextDueAt(now = Date.now()): number | undefined {
    let earliest: number | undefined;
    for (const entry of this.entries.values()) {
      if (entry.notBefore > now && (earliest === undefined || entry.notBefore < earliest)) earliest = entry.notBefore;
    }
    return earliest;
  }

  /**
   * Drops entries for events that no longer come back (deleted by hand, or drained by another
   * listener). Only long-due ones: a due event missing from one round may simply be locked by
   * this listener's other drain connection, and forgetting it would reset its rejection count.
   */
  prune(stillPresent: Set<string>, now = Date.now()): void {
    const staleBefore = now - STALE_AFTER_MS;
    for (const [id, entry] of this.entries) {
      if (entry.notBefore <= staleBefore && !stillPresent.has(id)) this.entries.delete(id);
    }
  }
}
