import cliProgress from 'cli-progress';
import type { BackfillReporter, BackfillStart } from '../../lib/backfill/backfill-runner.ts';

const PLAIN_LINE_INTERVAL_MS = 2000;

/** A progress bar on a terminal (rows done / estimate, rate, ETA); plain lines otherwise (logs, CI, pipes). */
export function backfillReporter(terminal = Boolean(process.stderr.isTTY)): BackfillReporter {
  return terminal ? new ProgressBarReporter() : new PlainLineReporter();
}

class ProgressBarReporter implements BackfillReporter {
  private readonly bar = new cliProgress.SingleBar(
    { format: '{title} [{bar}] {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}', etaBuffer: 50, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  private readonly rate = new RowRate();
  private total = 0;

  started(start: BackfillStart): void {
    this.rate.begin(start.rowsDone);
    this.total = Math.max(start.rowsEstimate, start.rowsDone, 1);
    console.log(describeStart(start));
    this.bar.start(this.total, start.rowsDone, { title: `backfill ${start.id}`, rate: 0 });
  }

  progressed(rowsDone: number): void {
    // The estimate is the planner's: when more rows turn up, the bar grows instead of overflowing.
    if (rowsDone > this.total) {
      this.total = rowsDone;
      this.bar.setTotal(rowsDone);
    }
    this.bar.update(rowsDone, { rate: this.rate.at(rowsDone) });
  }

  waiting(): void {
    this.bar.update({ rate: 0 });
  }

  finished(rowsDone: number): void {
    this.bar.setTotal(rowsDone);
    this.bar.update(rowsDone, { rate: this.rate.at(rowsDone) });
    this.bar.stop();
    console.log(`done: ${rowsDone} rows sent as read events`);
  }
}

class PlainLineReporter implements BackfillReporter {
  private readonly rate = new RowRate();
  private start?: BackfillStart;
  private lastLineAt = 0;

  started(start: BackfillStart): void {
    this.start = start;
    this.rate.begin(start.rowsDone);
    console.log(describeStart(start));
  }

  progressed(rowsDone: number): void {
    if (Date.now() - this.lastLineAt < PLAIN_LINE_INTERVAL_MS) return;
    this.lastLineAt = Date.now();
    const estimate = Math.max(this.start!.rowsEstimate, rowsDone);
    const rate = this.rate.at(rowsDone);
    const eta = rate > 0 ? `, ETA ${Math.ceil((estimate - rowsDone) / rate)} s` : '';
    console.log(`backfill ${this.start!.id}: ${rowsDone}/${estimate} rows, ${rate} rows/s${eta}`);
  }

  waiting(pendingEvents: number): void {
    console.log(`backfill ${this.start!.id}: waiting for the listener to publish ${pendingEvents} events of the previous chunk`);
  }

  finished(rowsDone: number): void {
    console.log(`backfill ${this.start!.id} done: ${rowsDone} rows sent as read events`);
  }
}

function describeStart(start: BackfillStart): string {
  const how = start.resumed ? `continuing after ${start.rowsDone} rows` : 'starting';
  return `backfill ${start.id} of ${start.watch}: ${how}, about ${start.rowsEstimate} rows in all`;
}

/** Rows per second since this run started (resumed rows do not count). */
class RowRate {
  private startedAt = Date.now();
  private rowsAtStart = 0;

  begin(rowsDone: number): void {
    this.startedAt = Date.now();
    this.rowsAtStart = rowsDone;
  }

  at(rowsDone: number): number {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return seconds > 0 ? Math.round((rowsDone - this.rowsAtStart) / seconds) : 0;
  }
}
