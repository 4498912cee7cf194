/** Content-Encoding handling with the body limit applied to the decompressed size. */
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { Decompress as ZstdDecompress } from 'fzstd';
import { GatewayError } from '../errors.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

export const SUPPORTED_ENCODINGS = ['identity', 'gzip', 'deflate', 'zstd'];

function tooLarge(limit: number): GatewayError {
  return new GatewayError('payload_too_large', `request body exceeds ${limit} bytes after decompression`);
}

function zstd(buf: Uint8Array, limit: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const d = new ZstdDecompress((chunk) => {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    parts.push(chunk);
  });
  d.push(buf, true);
  return Buffer.concat(parts, size);
}

export async function decompress(body: Uint8Array, encoding: string | undefined, limit: number): Promise<Uint8Array> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  try {
    switch (enc) {
      case '':
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return await gunzip(body, { maxOutputLength: limit });
      case 'deflate':
        // RFC 9110 deflate is zlib-wrapped; some clients send raw deflate.
        return await inflate(body, { maxOutputLength: limit }).catch((e: { code?: string }) => {
          if (e.code === 'ERR_BUFFER_TOO_LARGE') throw e;
          return inflateRaw(body, { maxOutputLength: limit });
        });
      case 'zstd':
        return zstd(body, limit);
      default:
        throw new GatewayError('unsupported_media_type', `unsupported Content-Encoding "${enc}"; supported: ${SUPPORTED_ENCODINGS.join(', ')}`);
    }
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw tooLarge(limit);
    throw new GatewayError('invalid_argument', `cannot decode ${enc} body: ${(e as Error).message}`);
  }
}
