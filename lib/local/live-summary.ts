import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ConsumerRunner } from './consumer-runner.ts';

/** What the summary needs to know about one consumer. */
export interface SummarisedConsumer {
  id: string;
  deadLetterQueueUrl: string;
  runner: ConsumerRunner;
}

export interface LiveSummaryOptions {
  /** Where the summary and the lines printed through `log` go. */
  out: NodeJS.WriteStream;
  sqs: SQSClient;
  consumers: SummarisedConsumer[];
  /** Events/s are averaged over this long. @default 5000 */
  windowMs?: number;
  /** Redraw interval on a terminal. @default 1000 */
  refreshMs?: number;
  /** Without a terminal, a changed summary is printed as a line of its own at most this often. @default 10000 */
  plainEveryMs?: number;
}

interface ConsumerCounts {
  handled: number;
  failed: number;
  deadLettered: number;
}

/**
 * One compact status line for `npm start`: events published per second, the outbox backlog, and
 * per consumer how many records were handled, failed, and wait in the dead-letter queue. On a
 * terminal it stays on the last line and is redrawn in place (other output goes through `log`,
 * which prints above it); otherwise it is printed as a plain line whenever it changed.
 */
export class LiveSummary {
  private readonly published: Array<{ at: number; count: number }> = [];
  private backlog?: number;
  private readonly counts = new Map<string, ConsumerCounts>();
  private timer?: NodeJS.Timeout;
  private lastPlain = { text: '', at: 0 };
  private shown = '';

  constructor(private readonly options: LiveSummaryOptions) {
    for (const consumer of options.consumers) {
      const counts: ConsumerCounts = { handled: 0, failed: 0, deadLettered: 0 };
      this.counts.set(consumer.id, counts);
      consumer.runner.on('batch', ({ records, failed }) => {
        counts.handled += records - failed.length;
        counts.failed += failed.length;
      });
    }
  }

  /** Events the listener published (its `drained` rounds). */
  recordPublished(count: number): void {
    if (count > 0) this.published.push({ at: Date.now(), count });
  }

  /** The outbox backlog, as the listener's metrics report it. */
  recordBacklog(backlog: number): void {
    this.backlog = backlog;
  }

  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.shown) this.options.out.write('\r\x1b[K');
    this.shown = '';
  }

  /** Prints a line of other output, keeping the summary below it on a terminal. */
  log(line: string): void {
    const { out } = this.options;
    if (out.isTTY && this.shown) out.write(`\r\x1b[K${line}\n${this.shown}`);
    else out.write(`${line}\n`);
  }

  /** The summary as it stands. */
  line(now = Date.now()): string {
    const windowMs = this.options.windowMs ?? 5000;
    while (this.published.length > 0 && this.published[0]!.at < now - windowMs) this.published.shift();
    const perSecond = this.published.reduce((sum, round) => sum + round.count, 0) / (windowMs / 1000);
    const consumers = [...this.counts].map(
      ([id, counts]) => `${id} ${counts.handled} ok, ${counts.failed} failed, DLQ ${counts.deadLettered}`,
    );
    return [`pgbridge ${perSecond.toFixed(1)} events/s, backlog ${this.backlog ?? '?'}`, ...consumers].join(' | ');
  }

  private async refresh(): Promise<void> {
    await Promise.all(
      this.options.consumers.map(async (consumer) => {
        const { Attributes } = await this.options.sqs
          .send(new GetQueueAttributesCommand({ QueueUrl: consumer.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))
          .catch(() => ({ Attributes: undefined }));
        if (Attributes?.ApproximateNumberOfMessages !== undefined)
          this.counts.get(consumer.id)!.deadLettered = Number(Attributes.ApproximateNumberOfMessages);
      }),
    );
    if (!this.timer) return;
    const { out } = this.options;
    const text = this.line();
    if (out.isTTY) {
      const width = out.columns ?? 120;
      this.shown = text.length > width ? `${text.slice(0, width - 1)}…` : text;
      out.write(`\r\x1b[K${this.shown}`);
      return;
    }
    const now = Date.now();
    if (text !== this.lastPlain.text && now - this.lastPlain.at >= (this.options.plainEveryMs ?? 10_000)) {
      out.write(`${text}\n`);
      this.lastPlain = { text, at: now };
    }
  }
}
