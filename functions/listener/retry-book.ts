/** Failed events waiting for another attempt: the listener's memory of backoff, per event. */
interface Entry {
  attempts: number;
  /** Rejections for the content itself (SenderFault); past a threshold the event is parked. */
  rejections: number;
  notBefore: number;
  groupId?: string;
}

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
   * FIFO: an event that must wait behind an earlier event of its row (which is in backoff)
   * waits exactly as long, without counting an attempt. Leaving it out of the fetch until then
   * keeps the drain from re-reading it every round (a busy loop that would also starve other
   * rows once a hot row's held events filled a whole round).
   */
  hold(id: string, groupId: string, now = Date.now()): void {
    const until = this.blockedUntil(groupId, now) ?? now + this.policy.baseDelayMs;
    const entry = this.entries.get(id) ?? { attempts: 0, rejections: 0, notBefore: 0, groupId };
    entry.notBefore = Math.max(entry.notBefore, until);
    this.entries.set(id, entry);
  }

  /** The latest backoff end among the group's failed events, if any is still waiting. */
  private blockedUntil(groupId: string, now: number): number | undefined {
    let until: number | undefined;
    for (const entry of this.entries.values()) {
      if (entry.groupId === groupId && entry.attempts > 0 && entry.notBefore > now) until = Math.max(until ?? 0, entry.notBefore);
    }
    return until;
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

  /** Drops entries for events that no longer come back (deleted or drained elsewhere). */
  prune(stillPresent: Set<string>, now = Date.now()): void {
    for (const [id, entry] of this.entries) {
      if (entry.notBefore <= now && !stillPresent.has(id)) this.entries.delete(id);
    }
  }
}
