/** A sleep that a NOTIFY, a stop request or a lost connection can cut short. */
export class Wakeup {
  private pending?: () => void;
  private signalled = false;

  wake(): void {
    this.signalled = true;
    this.pending?.();
  }

  /** Resolves after `ms`, or at once if woken since the last wait. */
  wait(ms: number): Promise<void> {
    if (this.signalled) {
      this.signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.pending = undefined;
        self.signalled = false;
        resolve();
      }
      this.pending = done;
    });
  }
}
