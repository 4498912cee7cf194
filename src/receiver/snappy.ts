/**
 * Snappy request bodies, as the Collector's exporters send them: the block format (Content-Encoding `snappy`
 * since Collector v0.125's confighttp.framedSnappy gate) and the framing format (`x-snappy-framed`; `snappy`
 * before that gate, and gRPC's `snappy` through go-grpc-compression). Output is counted before it is kept and
 * bounded by the limit, as decompress.ts does for the other encodings.
 */
import { GatewayError } from '../errors.js';

type Count = (n: number) => void;

/** The first 10 bytes of every framed stream: a stream identifier chunk holding "sNaPpY". */
export const SNAPPY_FRAMED_MAGIC = Uint8Array.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

/** Literals and copies shorter than this are copied byte by byte (cheaper than a native call for each). */
const SHORT = 32;

/** A framing-format chunk holds at most this much uncompressed data (framing_format.txt 4.2). */
const MAX_CHUNK = 65536;

function corrupt(what: string): GatewayError {
  return new GatewayError('invalid_argument', `cannot decode snappy body: ${what}`);
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('payload_too_large', `request body exceeds ${limit} bytes after decompression`);
}

export function isSnappyFramed(buf: Uint8Array): boolean {
  if (buf.length < SNAPPY_FRAMED_MAGIC.length) return false;
  for (let i = 0; i < SNAPPY_FRAMED_MAGIC.length; i++) if (buf[i] !== SNAPPY_FRAMED_MAGIC[i]) return false;
  return true;
}

/** The uncompressed length a block declares (its varint preamble) and where its elements start. */
function blockLength(src: Uint8Array, from = 0, to = src.length): { length: number; at: number } {
  let length = 0;
  for (let i = from, shift = 0; i < from + 5 && i < to; i++, shift += 7) {
    const b = src[i]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (length > 0xffffffff) break;
      return { length, at: i + 1 - from };
    }
  }
  throw corrupt('bad length preamble');
}

/** Decode the elements of one block into `out` (exactly its length: the block declares it). */
function decodeBlockInto(src: Uint8Array, at: number, out: Uint8Array): void {
  let i = at;
  let o = 0;
  while (i < src.length) {
    const tag = src[i++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: { // literal
        len = tag >>> 2;
        if (len >= 60) {
          const n = len - 59;
          if (i + n > src.length) throw corrupt('truncated literal length');
          len = 0;
          for (let k = n - 1; k >= 0; k--) len = len * 256 + src[i + k]!;
          i += n;
        }
        len += 1;
        if (i + len > src.length || o + len > out.length) throw corrupt('literal beyond its input or output');
        // short literals byte by byte: a subarray per literal made 1-byte literals cost ~180 ns each (6 s of
        // blocked event loop for a 64 MiB body)
        if (len < SHORT) for (let k = 0; k < len; k++) out[o + k] = src[i + k]!;
        else out.set(src.subarray(i, i + len), o);
        i += len;
        o += len;
        continue;
      }
      case 1:
        if (i + 1 > src.length) throw corrupt('truncated copy');
        len = 4 + ((tag >>> 2) & 7);
        offset = ((tag >>> 5) << 8) | src[i]!;
        i += 1;
        break;
      case 2:
        if (i + 2 > src.length) throw corrupt('truncated copy');
        len = (tag >>> 2) + 1;
        offset = src[i]! | (src[i + 1]! << 8);
        i += 2;
        break;
      default:
        if (i + 4 > src.length) throw corrupt('truncated copy');
        len = (tag >>> 2) + 1;
        offset = (src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16)) + src[i + 3]! * 0x1000000;
        i += 4;
    }
    if (offset === 0 || offset > o || o + len > out.length) throw corrupt('copy outside the output');
    if (offset >= len && len >= SHORT) out.copyWithin(o, o - offset, o - offset + len);
    else for (let k = 0; k < len; k++) out[o + k] = out[o + k - offset]!; // short, or overlapping (a run)
    o += len;
  }
  if (o !== out.length) throw corrupt(`block produced ${o} of its ${out.length} bytes`);
}

/** One block-format body; its declared length is checked against the limit and counted before allocating. */
export function snappyBlock(src: Uint8Array, limit: number, count: Count): Uint8Array {
  const { length, at } = blockLength(src);
  if (length > limit) throw tooLarge(limit);
  count(length);
  const out = Buffer.allocUnsafe(length);
  decodeBlockInto(src, at, out);
  return out;
}

const CRC32C_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function crc32c(b: Uint8Array, from: number, to: number): number {
  let c = -1;
  for (let i = from; i < to; i++) c = CRC32C_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The framing format's checksum: CRC-32C of the uncompressed data (b[from, to)), masked. */
export function maskedCrc32c(b: Uint8Array, from = 0, to = b.length): number {
  const c = crc32c(b, from, to);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/**
 * One framing-format body: chunks of at most 64 KiB each, checksums verified (as Go's snappy.Reader does),
 * padding and skippable chunks skipped, reserved unskippable chunk types refused. Two passes: the chunk
 * headers and block preambles first, which give the decoded size (checked against the limit and counted
 * once), then every chunk decoded in place into one buffer. Keeping a buffer per chunk and joining them
 * held ~150 bytes of heap per chunk beyond what was counted (a 64 MiB body of 1-byte chunks: 1.2 GB of
 * memory for 15 MB counted, and 9 s of blocked event loop).
 */
export function snappyFramed(src: Uint8Array, limit: number, count: Count): Uint8Array {
  if (!isSnappyFramed(src)) throw corrupt('no stream identifier');
  let size = 0;
  for (let i = 0; i < src.length;) {
    if (i + 4 > src.length) throw corrupt('truncated chunk header');
    const type = src[i]!;
    const len = src[i + 1]! | (src[i + 2]! << 8) | (src[i + 3]! << 16);
    const start = i + 4;
    const end = start + len;
    if (end > src.length) throw corrupt('truncated chunk');
    i = end;
    if (type === 0xff) {
      if (len !== 6 || !isSnappyFramed(src.subarray(start - 4, end))) throw corrupt('bad stream identifier');
      continue;
    }
    if (type >= 0x80) continue; // padding (0xfe) and skippable chunks
    if (type > 0x01) throw corrupt(`reserved unskippable chunk type 0x${type.toString(16)}`);
    if (len < 4) throw corrupt('chunk without its checksum');
    const n = type === 0x01 ? len - 4 : blockLength(src, start + 4, end).length;
    if (n > MAX_CHUNK) throw corrupt(`${type === 0x01 ? 'uncompressed' : 'compressed'} chunk over 64 KiB`);
    size += n;
    if (size > limit) throw tooLarge(limit);
  }
  count(size);
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = 0; i < src.length;) {
    const type = src[i]!;
    const start = i + 4;
    const end = start + (src[i + 1]! | (src[i + 2]! << 8) | (src[i + 3]! << 16));
    i = end;
    if (type > 0x01) continue; // checked above: identifiers, padding, skippable
    const crc = (src[start]! | (src[start + 1]! << 8) | (src[start + 2]! << 16)) + src[start + 3]! * 0x1000000;
    let n: number;
    if (type === 0x01) { // no subarrays for small chunks: they cost more than the bytes
      n = end - start - 4;
      if (n < SHORT) for (let k = 0; k < n; k++) out[o + k] = src[start + 4 + k]!;
      else out.set(src.subarray(start + 4, end), o);
    } else {
      const data = src.subarray(start + 4, end);
      const { length, at } = blockLength(data);
      n = length;
      decodeBlockInto(data, at, out.subarray(o, o + n));
    }
    if (maskedCrc32c(out, o, o + n) !== crc) throw corrupt('checksum mismatch');
    o += n;
  }
  return out;
}
