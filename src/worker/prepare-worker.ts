/** Worker thread entry: prepares request bodies off the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { createMapper } from '../mapping/index.js';
import { loadPriceTable } from '../mapping/prices.js';
import { OtlpDecodeError } from '../otlp/errors.js';
import { GatewayError } from '../errors.js';
import { prepareBody } from './prepare.js';
import { prepareLogsBody } from './prepare-logs.js';
import { packPrepared } from './transfer.js';
import type { WorkerRequest, WorkerResponse, WorkerSetup } from './pool.js';

const setup = workerData as WorkerSetup;
const mapper = createMapper({
  maxContentChars: setup.maxContentChars,
  captureContent: setup.captureContent,
  prices: loadPriceTable(setup.pricesFile ?? undefined),
});

// Loading the price manifest takes ~0.1-0.3 s: the gateway listens only once every worker said it is ready.
parentPort!.postMessage({ ready: true } satisfies WorkerResponse);

parentPort!.on('message', (req: WorkerRequest) => {
  let res: WorkerResponse;
  try {
    if (req.signal === 'logs') {
      const logs = prepareLogsBody(req.body, req.encoding, req.tenantId, setup.maxDecodeBytes);
      parentPort!.postMessage({ id: req.id, ok: true, logs } satisfies WorkerResponse, logs.buffers); // rows move, not copied
      return;
    }
    res = { id: req.id, ok: true, packed: packPrepared(prepareBody(req.body, req.encoding, req.tenantId, mapper, setup.maxSpans, setup.maxDecodeBytes)) };
  } catch (e) {
    res = {
      id: req.id, ok: false, malformed: e instanceof OtlpDecodeError,
      kind: e instanceof GatewayError ? e.kind : undefined, message: (e as Error)?.message ?? String(e),
    };
  }
  parentPort!.postMessage(res, res.ok && 'packed' in res ? [...res.packed.buffers, res.packed.nums.buffer as ArrayBuffer, res.packed.refs.buffer as ArrayBuffer] : []); // rows move, not copied
});
