/**
 * A small pool of worker threads that decode, map and COPY-encode request bodies, so the main thread
 * stays free to drive the database writers and the sockets.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../db/paths.js';
import { OtlpDecodeError } from '../otlp/errors.js';
import { GatewayError, type ErrorKind } from '../errors.js';
import type { Encoding, PreparedRequest } from './prepare.js';
import { unpackPrepared, type PackedRequest } from './transfer.js';
import type { PreparedLogs } from '../sink/log-rows.js';

export interface WorkerSetup {
  /** spans one request may carry (larger protobuf requests are refused before decoding) */
  maxSpans: number;
  /** what one decode may take (bytes; larger bodies are refused before decoding), and the old generation's limit beyond the worker's own */
  maxDecodeBytes: number;
  maxContentChars: number;
  captureContent: boolean;
  pricesFile: string | null;
}
/** The signal of a request body: traces (ExportTraceServiceRequest) or logs (ExportLogsServiceRequest). */
export type Signal = 'traces' | 'logs';
export interface WorkerRequest { id: number; body: Uint8Array; encoding: Encoding; tenantId: string; signal: Signal }
export type WorkerResponse =
  | { ready: true }
  | { id: number; ok: true; packed: PackedRequest }
  | { id: number; ok: true; logs: PreparedLogs }
  | { id: number; ok: false; malformed: boolean; kind?: ErrorKind; message: string };

/**
 * A worker's old generation beyond what one decode may take (WorkerSetup.maxDecodeBytes): its code, the
 * mapper's price tables (measured: 10 MB of heap used once loaded) and a request's decoded spans.
 */
export const WORKER_OWN_HEAP_MB = 32;

/**
 * A worker's young generation, from its old generation's limit. Left to V8, a small old generation comes with
 * a tiny young one (prepare 25–40% slower for 512 GenAI spans); unlimited, 8 back-to-back decodes of a 0.8
 * MiB body of 60,000 small attributes took the process +121 MB (VmHWM), with 16 MB and the old generation
 * limited +55 MB. But 16 MB under the default configuration (old generation ~1 GB: L = 32 MiB) made the
 * worker collect garbage 7× as long — 1.86 s against 0.25 s for 133k spans of `npm run bench`, the gateway
 * 14.2 s of CPU against 9.0 s — so a large old generation gets V8's usual 48 MB (3 × 16 MB semi-spaces).
 */
export const WORKER_YOUNG_GENERATION_MIN_MB = 16;
export const WORKER_YOUNG_GENERATION_MAX_MB = 48;
const youngGenerationMb = (oldMb: number) =>
  Math.min(WORKER_YOUNG_GENERATION_MAX_MB, Math.max(WORKER_YOUNG_GENERATION_MIN_MB, Math.floor(oldMb / 16)));

/**
 * V8 limits for a prepare worker: its old generation holds at most one decode's allowance beyond its own,
 * so V8 collects the garbage of decodes one after another instead of growing the heap over several of
 * them (a body estimated to take more than the allowance is refused before decoding: otlp/decode-cost.ts).
 * Should a decode still outgrow it, V8 ends that worker alone (its requests fail, a fresh worker takes its place).
 */
export function workerResourceLimits(maxDecodeBytes: number): { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb: number } {
  const MiB = 1024 * 1024;
  if (!(maxDecodeBytes < Infinity)) return { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MAX_MB };
  const oldMb = Math.ceil(WORKER_OWN_HEAP_MB + maxDecodeBytes / MiB);
  return { maxOldGenerationSizeMb: oldMb, maxYoungGenerationSizeMb: youngGenerationMb(oldMb) };
}

interface Task { resolve: (r: PreparedRequest | PreparedLogs) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; tasks: Map<number, Task>; ready: Promise<void> }

/** The compiled worker script (tests run from TypeScript sources, so they use the build in dist/). */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = here.replace(/\.ts$/, '.js').replace(/pool\.js$/, 'prepare-worker.js');
  if (!here.endsWith('.ts') && existsSync(beside)) return beside;
  const built = join(packageRoot(), 'dist/src/worker/prepare-worker.js');
  if (!existsSync(built)) throw new Error(`worker script not built: run "npm run build" (missing ${built})`);
  return built;
}

export class PreparePool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size: number, private readonly setup: WorkerSetup, private readonly onError: (e: unknown) => void = () => {}) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Resolves once every worker has loaded its mapper (or failed: a failed worker is replaced). */
  ready(): Promise<void> {
    return Promise.all(this.slots.map((s) => s.ready)).then(() => {});
  }

  private spawn(): Slot {
    let loaded!: () => void;
    const slot: Slot = {
      worker: new Worker(workerScript(), { workerData: this.setup, resourceLimits: workerResourceLimits(this.setup.maxDecodeBytes) }), tasks: new Map(), ready: new Promise((r) => { loaded = r; }),
    };
    slot.worker.on('message', (res: WorkerResponse) => {
      if ('ready' in res) { loaded(); return; }
      const task = slot.tasks.get(res.id);
      if (!task) return;
      slot.tasks.delete(res.id);
      if (res.ok) task.resolve('logs' in res ? res.logs : unpackPrepared(res.packed));
      else if (res.malformed) task.reject(new OtlpDecodeError(res.message));
      else task.reject(res.kind ? new GatewayError(res.kind, res.message) : new Error(res.message));
    });
    const fail = (e: unknown) => {
      loaded();
      // A crashed worker fails only its own tasks; a fresh one takes its place.
      const err = new Error(`prepare worker failed: ${(e as Error)?.message ?? e}`);
      for (const t of slot.tasks.values()) t.reject(err);
      slot.tasks.clear();
      if (this.closed) return;
      this.onError(e);
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => { if (!this.closed) fail(new Error(`exited with code ${code}`)); });
    return slot;
  }

  /** Decode, map and encode one trace request body in the least busy worker (the body may be detached: do not reuse it). */
  run(body: Uint8Array, encoding: Encoding, tenantId: string): Promise<PreparedRequest> {
    return this.post(body, encoding, tenantId, 'traces') as Promise<PreparedRequest>;
  }

  /** Decode and encode one logs request body in the least busy worker (the body may be detached, as above). */
  runLogs(body: Uint8Array, encoding: Encoding, tenantId: string): Promise<PreparedLogs> {
    return this.post(body, encoding, tenantId, 'logs') as Promise<PreparedLogs>;
  }

  private post(body: Uint8Array, encoding: Encoding, tenantId: string, signal: Signal): Promise<PreparedRequest | PreparedLogs> {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.tasks.size < slot.tasks.size) slot = s;
    const id = this.nextId++;
    // A body that owns its whole ArrayBuffer moves to the worker instead of being copied: one copy fewer
    // of the largest thing a request holds (the admission counts one). Views on shared memory are copied.
    const whole = body.buffer instanceof ArrayBuffer && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    return new Promise((resolve, reject) => {
      slot.tasks.set(id, { resolve, reject });
      slot.worker.postMessage({ id, body, encoding, tenantId, signal } satisfies WorkerRequest, whole ? [body.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
