/**
 * Structured logs: pino, one JSON object per line on stderr (stdout is kept for the CLI banner).
 * Every line carries `level` (label), `time` (ISO 8601) and `msg`, plus the caller's fields.
 */
import pino from 'pino';

type PinoLogger = pino.Logger;

export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function levelOf(raw: string | undefined): Level {
  const l = (raw ?? '').trim().toLowerCase() as Level;
  return LEVELS.includes(l) ? l : 'info';
}

/** A pino logger writing to `dest` (default: stderr, synchronously, so nothing is lost on exit). */
export function createPino(level: Level, dest: pino.DestinationStream = pino.destination({ dest: 2, sync: true })): PinoLogger {
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, dest);
}

/** Adapts pino's (fields, msg) call shape to the gateway's (msg, fields). */
export function wrap(p: PinoLogger): Logger {
  const emit = (lvl: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (fields) p[lvl](fields, msg);
    else p[lvl](msg);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export function createLogger(level?: Level): Logger {
  const log = wrap(createPino(levelOf(level ?? process.env.RUNLEDGER_LOG_LEVEL)));
  // An unknown RUNLEDGER_LOG_LEVEL (`verbose`, `trace`) was taken as info without a word.
  const raw = process.env.RUNLEDGER_LOG_LEVEL?.trim();
  if (level === undefined && raw && !LEVELS.includes(raw.toLowerCase() as Level)) {
    log.warn(`RUNLEDGER_LOG_LEVEL=${JSON.stringify(raw)} is not one of ${LEVELS.join(', ')}: logging at info`);
  }
  return log;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
