/**
 * Compression codecs for kafkajs, registered once per process (agent and collector alike).
 * kafkajs itself only reads gzip; a batch in any other codec crashed the consumer for every
 * partition. Every codec Kafka defines is read here:
 *  - gzip at a chosen level for writing (kafkajs' own uses zlib's default level 6; level 1
 *    costs a fraction of the CPU for most of the ratio on log text, see bench/);
 *  - snappy (raw, and the xerial framing of the Java client) and lz4 (frame format) in pure
 *    JavaScript (snappyjs, lz4js): no native build, and reading them is rare and cheap;
 *  - zstd through node:zlib where the runtime has it (Node >= 22.15), else read with fzstd
 *    (pure JavaScript); writing zstd needs the runtime's.
 * A decompressed batch larger than MAX_DECOMPRESSED_BYTES is refused (a small batch must not
 * expand into all of memory).
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { decompress as zstdDecompressJs } from 'fzstd';
import kafkajs from 'kafkajs';
import lz4 from 'lz4js';
import snappy from 'snappyjs';

const { CompressionCodecs, CompressionTypes } = kafkajs;

type ZstdFn = (buf: Buffer, cb: (err: Error | null, out: Buffer) => void) => void;
const z = zlib as unknown as { zstdCompress?: ZstdFn; zstdDecompress?: ZstdFn };

export const ZSTD_AVAILABLE = typeof z.zstdCompress === 'function' && typeof z.zstdDecompress === 'function';

/** The most one compressed batch may expand to. */
export const MAX_DECOMPRESSED_BYTES = 512 * 1024 ** 2;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

function tooLarge(codec: string, n: number): Error {
  return new Error(`${codec} batch would expand to ${n} bytes, more than the ${MAX_DECOMPRESSED_BYTES} allowed`);
}

/** Snappy: raw, or the Java client's xerial framing (magic, version, compat, then length-prefixed blocks). */
export function snappyDecode(buf: Buffer): Buffer {
  if (buf.length >= 16 && buf.subarray(0, 8).equals(XERIAL_MAGIC)) {
    const parts: Buffer[] = [];
    let total = 0;
    for (let off = 16; off < buf.length; ) {
      if (off + 4 > buf.length) throw new Error('snappy: truncated xerial block header');
      const len = buf.readUInt32BE(off);
      off += 4;
      if (off + len > buf.length) throw new Error('snappy: truncated xerial block');
      const part = Buffer.from(snappy.uncompress(buf.subarray(off, off + len), MAX_DECOMPRESSED_BYTES - total));
      total += part.length;
      parts.push(part);
      off += len;
    }
    return Buffer.concat(parts, total);
  }
  return Buffer.from(snappy.uncompress(buf, MAX_DECOMPRESSED_BYTES));
}

/** LZ4 frame format (what Kafka writes since message format v1 with KIP-57). */
export function lz4Decode(buf: Buffer): Buffer {
  const bound = lz4.decompressBound(buf);
  if (bound > MAX_DECOMPRESSED_BYTES) throw tooLarge('lz4', bound);
  const out = lz4.decompress(buf, bound);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Zstandard with the runtime's zlib when it has it, else fzstd. */
export async function zstdDecode(buf: Buffer): Promise<Buffer> {
  if (ZSTD_AVAILABLE) {
    return new Promise((resolve, reject) =>
      (z.zstdDecompress as unknown as (b: Buffer, o: object, cb: (err: Error | null, out: Buffer) => void) => void)(buf, { maxOutputLength: MAX_DECOMPRESSED_BYTES }, (err, out) => (err ? reject(err) : resolve(out))),
    );
  }
  const out = zstdDecompressJs(buf);
  if (out.byteLength > MAX_DECOMPRESSED_BYTES) throw tooLarge('zstd', out.byteLength);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

let registeredLevel: number | undefined;

export function registerCodecs(gzipLevel = 1): void {
  if (registeredLevel === gzipLevel) return;
  registeredLevel = gzipLevel;
  const gzip = promisify(zlib.gzip) as (b: Buffer, o: zlib.ZlibOptions) => Promise<Buffer>;
  const unzip = promisify(zlib.unzip) as (b: Buffer, o: zlib.ZlibOptions) => Promise<Buffer>;
  CompressionCodecs[CompressionTypes.GZIP] = () => ({
    compress: (encoder: { buffer: Buffer }) => gzip(encoder.buffer, { level: gzipLevel }),
    decompress: (buffer: Buffer) => unzip(buffer, { maxOutputLength: MAX_DECOMPRESSED_BYTES }),
  });
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: async (encoder: { buffer: Buffer }) => Buffer.from(snappy.compress(encoder.buffer)),
    decompress: async (buffer: Buffer) => snappyDecode(buffer),
  });
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => Buffer.from(lz4.compress(encoder.buffer)),
    decompress: async (buffer: Buffer) => lz4Decode(buffer),
  });
  const zstdCompress = ZSTD_AVAILABLE ? promisify(z.zstdCompress as ZstdFn) : undefined;
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: (encoder: { buffer: Buffer }) => {
      if (!zstdCompress) throw new Error(`writing zstd needs Node.js >= 22.15 (this is ${process.version})`);
      return zstdCompress(encoder.buffer);
    },
    decompress: (buffer: Buffer) => zstdDecode(buffer),
  });
}
