/**
 * The sink's own clock for readiness: how long writes have gone without a commit. The writer reports each
 * attempt here (sink/index.ts); /readyz reads it (health.ts).
 */

/**
 * How long writes have gone without a commit while they were being attempted. A gateway whose every write
 * waits on a lock, times out or fails answers each request (503 after the lock / statement timeout), so its
 * queue alone does not show the problem, nor does `SELECT 1`: this does. The clock starts at the first write
 * attempt after a commit (or after a quiet spell: attempts that ended more than `quietMs` ago, with nothing
 * in flight, belong to an earlier episode) and stops at the next commit.
 */
export class WriteProgress {
  private inflight = 0;
  /** start of the oldest attempt since the last commit (performance.now()), null: none */
  private since: number | null = null;
  private lastEnd = -Infinity;
  private error: string | null = null;

  constructor(private readonly quietMs: number) {}

  started(now = performance.now()): void {
    if (this.since === null || (this.inflight === 0 && now - this.lastEnd > this.quietMs)) {
      this.since = now;
      this.error = null;
    }
    this.inflight++;
  }

  committed(now = performance.now()): void {
    this.inflight--;
    this.lastEnd = now;
    this.since = this.inflight > 0 ? now : null;
    this.error = null;
  }

  failed(e: unknown, now = performance.now()): void {
    this.inflight--;
    this.lastEnd = now;
    this.error = (e as Error)?.message ?? String(e);
  }

  /** ms without a commit while writes were attempted (0: committing, or no writes wanted lately) */
  stalledMs(now = performance.now()): number {
    if (this.since === null) return 0;
    if (this.inflight === 0 && now - this.lastEnd > this.quietMs) return 0;
    return now - this.since;
  }

  /** the error of the last failed attempt since the last commit */
  get lastError(): string | null { return this.error; }
}
