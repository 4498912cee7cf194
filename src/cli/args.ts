/**
 * Command-line arguments of the maintenance commands: `--name value` / `--name=value` options (some
 * repeatable), boolean flags, and the value parsers (durations, dates, run ids, batch sizes).
 */

/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

export interface ParsedArgs {
  /** option name → its values, in order (flags get `'true'`) */
  values: Map<string, string[]>;
}

/**
 * Parse argv against the options a command accepts. `options` are names taking a value, `flags` names
 * without one. Unknown names and positional arguments are usage errors.
 */
export function parseArgs(argv: readonly string[], options: readonly string[], flags: readonly string[] = []): ParsedArgs {
  const values = new Map<string, string[]>();
  const add = (k: string, v: string) => { const l = values.get(k); if (l) l.push(v); else values.set(k, [v]); };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      add(name, 'true');
    } else if (options.includes(name)) {
      const v = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`--${name} needs a value`);
      add(name, v);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { values };
}

/** The single value of an option (an error when given twice), or undefined. */
export function single(args: ParsedArgs, name: string): string | undefined {
  const l = args.values.get(name);
  if (!l) return undefined;
  if (l.length > 1) throw new UsageError(`--${name} given more than once`);
  return l[0];
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values.has(name);
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `2w`, `90m`, `45s` → milliseconds; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)\s*([smhdw])$/i.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : null;
}

/**
 * A point in time: a duration back from `now` (`30d` → 30 days ago) or an ISO-8601 date / timestamp
 * (`2025-01-31`, `2025-01-31T12:00:00Z`; a date alone is midnight UTC).
 */
export function parseTime(text: string, name: string, now: number = Date.now()): Date {
  const ms = parseDuration(text);
  if (ms !== null) return new Date(now - ms);
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ]([0-9:.]+)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i.exec(text.trim());
  if (m) {
    // A time without a zone is UTC, as a date alone is (JavaScript reads it as local time: with TZ set, the
    // same command meant another hour).
    const d = new Date(m[2] === undefined ? m[1]! : `${m[1]}T${m[2]}${m[3] ?? 'Z'}`);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new UsageError(`--${name}: expected a duration (30d, 12h, 2w, 90m, 45s) or a date (2025-01-31), got ${JSON.stringify(text)}`);
}

/** `--older-than`: a duration back from now only (retention must not take an absolute date by mistake). */
export function parseOlderThan(text: string, now: number = Date.now()): Date {
  const ms = parseDuration(text);
  if (ms === null) throw new UsageError(`--older-than: expected a duration such as 30d, 12h or 2w, got ${JSON.stringify(text)}`);
  return new Date(now - ms);
}

/** A run id (trace id): 32 hex digits, with or without uuid dashes → 32 lowercase hex digits. */
export function parseRunId(text: string): string {
  const hex = text.trim().toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex) || !/^[0-9a-f-]+$/i.test(text.trim())) {
    throw new UsageError(`--run: expected a run id (32 hex digits or a uuid), got ${JSON.stringify(text)}`);
  }
  return hex;
}

export function parseBatch(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new UsageError(`--batch: expected an integer from 1 to 100000, got ${JSON.stringify(text)}`);
  return n;
}
