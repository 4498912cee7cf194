/**
 * How a maintenance job (repair, reprice, retention) reports its progress: one interface, so the command
 * line draws every job the same way (cli/progress.ts) and a test can count the ticks.
 */
export interface JobProgress {
  /** the work ahead once it is known (a count query answered) and what is counted ("runs", "nodes") */
  start(total: number, unit?: string): void;
  tick(n?: number): void;
  /** the job is over (the last line is drawn) */
  done(): void;
}
