/** Command-line arguments: durations, times, run ids and flags parsed, bad ones refused with a usage error. */
import { describe, expect, it } from 'vitest';
import { parseArgs, parseBatch, parseDuration, parseOlderThan, parseRunId, parseTime, single, UsageError } from './args.js';
import { repairOptions, repriceOptions, retentionOptions } from './commands.js';

const NOW = Date.parse('2025-03-10T12:00:00Z');

describe('durations and times', () => {
  it('parses s/m/h/d/w durations', () => {
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('2W')).toBe(14 * 86_400_000);
    for (const bad of ['', 'd', '30', '30x', '-1d', '1.5d', '0d', '30 days', 'd30']) expect(parseDuration(bad), bad).toBeNull();
  });

  it('--older-than becomes the time that long before now', () => {
    expect(parseOlderThan('30d', NOW).toISOString()).toBe('2025-02-08T12:00:00.000Z');
    expect(parseOlderThan('12h', NOW).toISOString()).toBe('2025-03-10T00:00:00.000Z');
    expect(parseOlderThan('2w', NOW).toISOString()).toBe('2025-02-24T12:00:00.000Z');
    expect(() => parseOlderThan('2025-01-01', NOW)).toThrow(UsageError);
    expect(() => parseOlderThan('soon', NOW)).toThrow(/--older-than/);
  });

  it('--since takes a duration or an ISO date', () => {
    expect(parseTime('1d', 'since', NOW).toISOString()).toBe('2025-03-09T12:00:00.000Z');
    expect(parseTime('2025-01-31', 'since', NOW).toISOString()).toBe('2025-01-31T00:00:00.000Z');
    expect(parseTime('2025-01-31T06:30:00Z', 'since', NOW).toISOString()).toBe('2025-01-31T06:30:00.000Z');
    expect(parseTime('2025-01-31T06:30:00+02:00', 'since', NOW).toISOString()).toBe('2025-01-31T04:30:00.000Z');
    for (const bad of ['yesterday', '2025-13-45', '31/01/2025', '']) expect(() => parseTime(bad, 'since', NOW), bad).toThrow(UsageError);
    // a time without a zone is UTC like a date alone, whatever TZ says (it was read as local time)
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(parseTime('2025-01-31T06:30:00', 'since', NOW).toISOString()).toBe('2025-01-31T06:30:00.000Z');
      expect(parseTime('2025-01-31 06:30', 'since', NOW).toISOString()).toBe('2025-01-31T06:30:00.000Z');
      expect(parseTime('2025-01-31', 'since', NOW).toISOString()).toBe('2025-01-31T00:00:00.000Z');
    } finally {
      if (tz === undefined) delete process.env.TZ; else process.env.TZ = tz;
    }
  });
});

describe('arguments', () => {
  it('reads --name value and --name=value, repeated options and flags', () => {
    const a = parseArgs(['--run', 'a', '--run=b', '--dry-run', '--batch=5'], ['run', 'batch'], ['dry-run']);
    expect(a.values.get('run')).toEqual(['a', 'b']);
    expect(single(a, 'batch')).toBe('5');
    expect(a.values.has('dry-run')).toBe(true);
    expect(() => single(a, 'run')).toThrow(/more than once/);
  });

  it('refuses unknown options, positionals, missing values and valued flags', () => {
    expect(() => parseArgs(['--nope'], ['run'])).toThrow(/unknown option --nope/);
    expect(() => parseArgs(['stray'], ['run'])).toThrow(UsageError);
    expect(() => parseArgs(['--run'], ['run'])).toThrow(/needs a value/);
    expect(() => parseArgs(['--run='], ['run'])).toThrow(/needs a value/);
    expect(() => parseArgs(['--dry-run=yes'], [], ['dry-run'])).toThrow(/takes no value/);
  });

  it('normalises run ids and checks batch sizes', () => {
    expect(parseRunId('5B8EFFF7-9803-8103-D269-B633813FC60C')).toBe('5b8efff798038103d269b633813fc60c');
    expect(parseRunId('5b8efff798038103d269b633813fc60c')).toBe('5b8efff798038103d269b633813fc60c');
    expect(() => parseRunId('5b8efff7980381')).toThrow(UsageError);
    expect(() => parseRunId('zz8efff798038103d269b633813fc60c')).toThrow(UsageError);
    expect(parseBatch(undefined, 500)).toBe(500);
    expect(parseBatch('20', 500)).toBe(20);
    for (const bad of ['0', '-3', '1.5', 'x', '1000000']) expect(() => parseBatch(bad, 500), bad).toThrow(UsageError);
  });

  it('builds the options of each command', () => {
    const id = '5b8efff798038103d269b633813fc60c';
    expect(repairOptions(['--run', id, '--run', id.toUpperCase(), '--since', '2d', '--batch', '50'], NOW)).toEqual({
      runIds: [id], since: new Date(NOW - 2 * 86_400_000), batch: 50,
    });
    expect(repairOptions([], NOW)).toEqual({ runIds: undefined, since: null, batch: 500 });
    expect(repairOptions(['--remap', '--since', '2d'], NOW)).toEqual({ runIds: undefined, since: new Date(NOW - 2 * 86_400_000), batch: 500, remap: true });
    expect(() => repairOptions(['--remap=yes'], NOW)).toThrow(/--remap takes no value/);
    expect(repriceOptions(['--prices', '/tmp/p.json'], NOW)).toEqual({ since: null, prices: '/tmp/p.json', batch: 1000, force: false });
    expect(repriceOptions(['--force'], NOW)).toEqual({ since: null, prices: undefined, batch: 1000, force: true });
    expect(retentionOptions(['--older-than', '30d', '--dry-run'], NOW)).toEqual({ olderThan: new Date(NOW - 30 * 86_400_000), dryRun: true });
    expect(retentionOptions(['--older-than=12h'], NOW)).toEqual({ olderThan: new Date(NOW - 12 * 3_600_000), dryRun: false });
    expect(() => retentionOptions([], NOW)).toThrow(/--older-than is required/);
    expect(() => retentionOptions(['--older-than', '30d', '--since', '1d'], NOW)).toThrow(/unknown option --since/);
  });
});
