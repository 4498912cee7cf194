/**
 * Progress of a long command on stderr, without dependencies. On a terminal one line is redrawn in
 * place (at most every 100 ms):
 *   repair  [########............]  42%  4,200/10,000 runs  1,234/s  ETA 5s
 * Elsewhere (logs, CI) the same line is printed plainly at every further 10% or every 5 s.
 */
import type { JobProgress } from '../maintenance/progress.js';

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressOptions {
  label: string;
  /** what is counted ("runs", "nodes") */
  unit: string;
  total?: number;
  stream?: ProgressStream;
  /** milliseconds; injectable for tests */
  now?: () => number;
  /** characters of the bar */
  width?: number;
}

const REDRAW_MS = 100;
const PLAIN_EVERY_MS = 5000;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** 5s, 1m05s, 2h03m */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class Progress implements JobProgress {
  private total: number;
  private unit: string;
  private count = 0;
  private readonly started: number;
  private lastDraw = -Infinity;
  private lastDecile = -1;
  private lastDone = -1;
  private finished = false;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly width: number;

  constructor(private readonly opts: ProgressOptions) {
    this.total = Math.max(0, opts.total ?? 0);
    this.unit = opts.unit;
    this.stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? (() => Date.now());
    this.width = opts.width ?? 20;
    this.started = this.now();
  }

  get tty(): boolean {
    return this.stream.isTTY === true;
  }

  /** Set (or correct) the total, e.g. once a count query answered. */
  setTotal(total: number, unit?: string): void {
    this.total = Math.max(0, total);
    if (unit !== undefined) this.unit = unit;
  }

  /** setTotal, as a maintenance job calls it (maintenance/progress.ts). */
  start(total: number, unit?: string): void {
    this.setTotal(total, unit);
  }

  tick(n = 1): void {
    this.set(this.count + n);
  }

  set(done: number): void {
    this.count = done;
    this.maybeDraw(false);
  }

  /** The final line (always drawn); on a terminal the cursor moves to the next line. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.maybeDraw(true);
    if (this.tty) this.stream.write('\n');
  }

  done(): void {
    this.finish();
  }

  /** The status line as it is drawn now. */
  line(): string {
    const total = Math.max(this.total, this.count);
    const frac = total === 0 ? 1 : this.count / total;
    const filled = Math.min(this.width, Math.floor(frac * this.width));
    const bar = '#'.repeat(filled) + '.'.repeat(this.width - filled);
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const secs = (this.now() - this.started) / 1000;
    const rate = secs > 0 ? this.count / secs : 0;
    const eta = this.count >= total ? '0s' : rate > 0 ? formatEta((total - this.count) / rate) : '?';
    return `${this.opts.label}  [${bar}] ${pct}  ${fmt(this.count)}/${fmt(total)} ${this.unit}  ${fmt(rate)}/s  ETA ${eta}`;
  }

  private maybeDraw(final: boolean): void {
    const t = this.now();
    if (this.tty) {
      if (!final && t - this.lastDraw < REDRAW_MS) return;
      this.stream.write(`\r${this.line()}\x1b[K`);
    } else {
      const total = Math.max(this.total, this.count);
      const decile = total === 0 ? 10 : Math.floor((this.count / total) * 10);
      const due = final ? this.lastDone !== this.count : decile > this.lastDecile || t - this.lastDraw >= PLAIN_EVERY_MS;
      if (!due) return;
      this.lastDecile = decile;
      this.stream.write(this.line() + '\n');
    }
    this.lastDraw = t;
    this.lastDone = this.count;
  }
}
