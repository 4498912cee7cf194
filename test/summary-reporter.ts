/** Prints the plain closing line CI reads: "N passed, N failed, N skipped". */
import type { Reporter } from 'vitest/reporters';
import type { RunnerTask } from 'vitest';

function count(tasks: RunnerTask[], acc = { passed: 0, failed: 0, skipped: 0 }) {
  for (const t of tasks) {
    if (t.type === 'test') {
      const state = t.result?.state;
      if (state === 'pass') acc.passed++;
      else if (state === 'fail') acc.failed++;
      else acc.skipped++;
    } else if ('tasks' in t) {
      const before = acc.failed;
      count(t.tasks, acc);
      // a suite or file that failed outside its tests (a beforeAll, an import) leaves its tests skipped: it is a failure
      if (t.result?.state === 'fail' && acc.failed === before) acc.failed++;
    }
  }
  return acc;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTask[] = [], errors: unknown[] = []): void {
    const c = count(files);
    const failed = c.failed + (errors.length > 0 && c.failed === 0 ? 1 : 0); // unhandled errors fail the run
    process.stdout.write(`\n${c.passed} passed, ${failed} failed, ${c.skipped} skipped\n`);
  }
}
