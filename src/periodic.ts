/**
 * A background task run every `intervalMs`, counted from the end of the previous run: runs never
 * overlap. The timer does not keep the process alive; a failure is passed to onError and the task runs
 * again at the next interval.
 */
export interface Periodic {
  /** no run starts after this; resolves when the one under way (if any) has ended */
  stop(): Promise<void>;
}

export function startPeriodic(
  intervalMs: number, task: () => Promise<void>, onError: (e: unknown) => void, opts: { immediate?: boolean } = {},
): Periodic {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    timer = null;
    running = task().catch(onError).finally(() => {
      running = null;
      schedule(intervalMs);
    });
  };
  schedule(opts.immediate ? 0 : intervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
