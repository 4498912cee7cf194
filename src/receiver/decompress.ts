/**
 * Content-Encoding handling with the body limit applied to the decompressed size; the output is counted
 * (the admission's grow, src/sink/admission.ts) as decompression produces it, before it is kept.
 */
import zlib from 'node:zlib';
import { Decompress as ZstdDecompress, decompress as zstdDecompressFrame } from 'fzstd';
import { GatewayError } from '../errors.js';
import { isSnappyFramed, snappyBlock, snappyFramed } from './snappy.js';
import { lz4Frames } from './lz4.js';

/** Counts `n` bytes about to be kept; throws to refuse them (queue_full, payload_too_large). */
export type Count = (n: number) => void;
const uncounted: Count = () => {};

export const SUPPORTED_ENCODINGS = ['identity', 'gzip', 'deflate', 'zlib', 'zstd', 'snappy', 'x-snappy-framed', 'lz4'];

function tooLarge(limit: number): GatewayError {
  return new GatewayError('payload_too_large', `request body exceeds ${limit} bytes after decompression`);
}

/**
 * zstd frames without a content size are decoded by fzstd's streaming decoder, which allocates the window
 * the frame declares (up to ~2 GiB) and moves the whole window after every block: its work is
 * blocks × window. So such frames may declare at most ZSTD_MAX_WINDOW (8 MiB, the window zstd recommends
 * every decoder support), and blocks × window must stay within a budget a full-size request with 128 KiB
 * blocks needs (ZSTD_WORK_PER_BYTE × limit). Frames with a content size are decoded in one piece into a
 * buffer of that size (no window moves), after checking the declared sizes against the limit.
 */
export const ZSTD_MAX_WINDOW = 8 * 1024 * 1024;
const ZSTD_WORK_PER_BYTE = ZSTD_MAX_WINDOW / (128 * 1024);
const ZSTD_MIN_WORK = 256 * 1024 * 1024; // floor, so that small limits still take ordinary streams

interface ZstdFrame {
  start: number;
  end: number;
  /** declared content size, null when absent */
  contentSize: number | null;
  window: number;
  blocks: number;
}

const le = (b: Uint8Array, at: number, n: number): number => {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + b[at + i]!;
  return v;
};

/** Walk the frames (headers and block headers only) without decoding anything. */
function zstdFrames(buf: Uint8Array): ZstdFrame[] {
  const frames: ZstdFrame[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 8 > buf.length) throw new Error('truncated zstd frame');
    const magic = le(buf, pos, 4);
    if (magic >= 0x184d2a50 && magic <= 0x184d2a5f) { // skippable frame
      pos += 8 + le(buf, pos + 4, 4);
      if (pos > buf.length) throw new Error('truncated skippable frame');
      continue;
    }
    if (magic !== 0xfd2fb528) throw new Error('not a zstd frame');
    const start = pos;
    const fhd = buf[pos + 4]!;
    const singleSegment = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    if (fhd & 8) throw new Error('reserved bit set in zstd frame header');
    pos += 5;
    let window = 0;
    if (!singleSegment) {
      const wd = buf[pos++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    pos += [0, 1, 2, 4][fhd & 3]!; // dictionary id
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
    if (pos + fcsBytes > buf.length) throw new Error('truncated zstd frame header');
    const contentSize = fcsBytes === 0 ? null : le(buf, pos, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
    if (singleSegment) window = contentSize!;
    pos += fcsBytes;
    let blocks = 0;
    for (let last = 0; !last; blocks++) {
      if (pos + 3 > buf.length) throw new Error('truncated zstd block');
      const h = le(buf, pos, 3);
      last = h & 1;
      const type = (h >> 1) & 3;
      if (type === 3) throw new Error('reserved zstd block type');
      pos += 3 + (type === 1 ? 1 : h >>> 3);
      if (pos > buf.length) throw new Error('truncated zstd block');
    }
    if (fhd & 4) pos += 4; // content checksum
    if (pos > buf.length) throw new Error('truncated zstd frame');
    frames.push({ start, end: pos, contentSize, window, blocks });
  }
  return frames;
}

/** Join decoded parts into one buffer; the copy is counted while the parts still exist. */
function join(parts: Uint8Array[], size: number, count: Count): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  count(size);
  return Buffer.concat(parts, size);
}

/** zlib streaming: each output chunk counted as it comes out, the limit checked on the way. */
function inflateCounted(body: Uint8Array, make: () => zlib.Gunzip | zlib.Inflate | zlib.InflateRaw, limit: number, count: Count): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const z = make();
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      z.destroy();
      reject(e);
    };
    z.on('data', (d: Buffer) => {
      if (failed) return;
      size += d.length;
      if (size > limit) return fail(tooLarge(limit));
      try {
        count(d.length);
      } catch (e) {
        return fail(e);
      }
      parts.push(d);
    });
    z.once('error', fail);
    z.once('end', () => {
      if (failed) return;
      try {
        resolve(parts.length === 0 ? new Uint8Array(0) : join(parts, size, count));
      } catch (e) {
        reject(e);
      }
    });
    z.end(body);
  });
}

function zstd(buf: Uint8Array, limit: number, count: Count): Uint8Array {
  const frames = zstdFrames(buf);
  let declared = 0;
  let work = 0;
  for (const f of frames) {
    if (f.contentSize !== null && f.contentSize > 0) {
      declared += f.contentSize;
    } else {
      if (f.window > ZSTD_MAX_WINDOW) {
        throw new GatewayError('payload_too_large', `zstd window of ${f.window} bytes exceeds the ${ZSTD_MAX_WINDOW} bytes the gateway decodes`);
      }
      work += f.blocks * f.window;
    }
  }
  if (declared > limit) throw tooLarge(limit);
  if (work > Math.max(ZSTD_MIN_WORK, ZSTD_WORK_PER_BYTE * limit)) {
    throw new GatewayError('payload_too_large', 'zstd body exceeds the decoding work the gateway allows (too many blocks for its window)');
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const f of frames) {
    const frame = buf.subarray(f.start, f.end);
    if (f.contentSize !== null && f.contentSize > 0) {
      count(f.contentSize);
      const out = zstdDecompressFrame(frame); // exactly contentSize bytes: the output is its own window
      size += out.length;
      if (size > limit) throw tooLarge(limit);
      parts.push(out);
    } else {
      new ZstdDecompress((chunk) => {
        size += chunk.length;
        if (size > limit) throw tooLarge(limit);
        count(chunk.length);
        if (chunk.length > 0) parts.push(chunk);
      }).push(frame, true);
    }
  }
  return parts.length === 0 ? new Uint8Array(0) : join(parts, size, count);
}

/**
 * The body decoded per its Content-Encoding, at most `limit` bytes. `count` is called for every piece of
 * output before it is kept (and for the joined copy); the caller recounts (resize) once it is done.
 */
export async function decompress(body: Uint8Array, encoding: string | undefined, limit: number, count: Count = uncounted): Promise<Uint8Array> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  try {
    switch (enc) {
      case '':
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return await inflateCounted(body, () => zlib.createGunzip(), limit, count);
      case 'deflate':
      case 'zlib': // the name the Collector's confighttp sends for `compression: zlib` (the same zlib stream as deflate)
        // RFC 9110 deflate is zlib-wrapped; some clients send raw deflate (a wrong header fails at once, before any output).
        return await inflateCounted(body, () => zlib.createInflate(), limit, count).catch((e: unknown) => {
          if (e instanceof GatewayError) throw e;
          return inflateCounted(body, () => zlib.createInflateRaw(), limit, count);
        });
      case 'zstd':
        return zstd(body, limit, count);
      case 'snappy':
        // Collectors before v0.125 (and gRPC's snappy) send the framing format under this name, later ones the
        // block format: told apart by the stream identifier every framed body starts with, as the Collector does.
        return isSnappyFramed(body) ? snappyFramed(body, limit, count) : snappyBlock(body, limit, count);
      case 'x-snappy-framed':
        return snappyFramed(body, limit, count);
      case 'lz4': // the LZ4 frame format (the Collector's otlphttp exporter with compression: lz4)
        return lz4Frames(body, limit, count);
      default:
        throw new GatewayError('unsupported_media_type', `unsupported Content-Encoding "${enc}"; supported: ${SUPPORTED_ENCODINGS.join(', ')}`);
    }
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw tooLarge(limit);
    throw new GatewayError('invalid_argument', `cannot decode ${enc} body: ${(e as Error).message}`);
  }
}
