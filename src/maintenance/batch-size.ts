/**
 * Batch sizes for maintenance transactions that hold run locks (repair, reprice): writers wait for a held run
 * only RUNLEDGER_RUN_LOCK_WAIT_MS (3 s) before answering 503, and a batch's cost per run grows with the ledger
 * (its statements probe every daily partition), so the size follows the measured duration towards a target.
 */

/** The default target: a third of the writers' 3 s wait for a held run. */
export const BATCH_TARGET_MS = 1000;
/** The first batch's size: its cost per run is not known yet. */
const FIRST = 16;

export class BatchSizer {
  private size: number;

  constructor(private readonly max: number, private readonly targetMs = BATCH_TARGET_MS) {
    this.size = Math.max(1, Math.min(max, FIRST));
  }

  /** The size of the next batch. */
  get next(): number {
    return this.size;
  }

  /** A batch of `n` items took `ms`: shrink in proportion when over the target, double when well under it. */
  took(n: number, ms: number): void {
    if (ms > this.targetMs) this.size = Math.max(1, Math.min(this.size, Math.floor((n * this.targetMs) / ms)));
    else if (ms < this.targetMs / 2 && n >= this.size) this.size = Math.min(this.max, this.size * 2);
  }
}
