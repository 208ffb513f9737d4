/**
 * Compression codecs for kafkajs, registered once per process (agent and collector alike):
 *  - gzip at a chosen level (kafkajs' own uses zlib's default level 6; level 1 costs a
 *    fraction of the CPU for most of the ratio on log text, see bench/);
 *  - zstd through node:zlib when the runtime has it (Node >= 22.15), so records from an agent
 *    on a current LTS can be read by any collector on one too.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';

const { CompressionCodecs, CompressionTypes } = kafkajs;

type ZstdFn = (buf: Buffer, cb: (err: Error | null, out: Buffer) => void) => void;
const z = zlib as unknown as { zstdCompress?: ZstdFn; zstdDecompress?: ZstdFn };

export const ZSTD_AVAILABLE = typeof z.zstdCompress === 'function' && typeof z.zstdDecompress === 'function';

let registeredLevel: number | undefined;

export function registerCodecs(gzipLevel = 1): void {
  if (registeredLevel === gzipLevel) return;
  registeredLevel = gzipLevel;
  const gzip = promisify(zlib.gzip) as (b: Buffer, o: zlib.ZlibOptions) => Promise<Buffer>;
  const unzip = promisify(zlib.unzip) as (b: Buffer) => Promise<Buffer>;
  CompressionCodecs[CompressionTypes.GZIP] = () => ({
    compress: (encoder: { buffer: Buffer }) => gzip(encoder.buffer, { level: gzipLevel }),
    decompress: (buffer: Buffer) => unzip(buffer),
  });
  if (ZSTD_AVAILABLE) {
    const compress = promisify(z.zstdCompress as ZstdFn);
    const decompress = promisify(z.zstdDecompress as ZstdFn);
    CompressionCodecs[CompressionTypes.ZSTD] = () => ({
      compress: (encoder: { buffer: Buffer }) => compress(encoder.buffer),
      decompress: (buffer: Buffer) => decompress(buffer),
    });
  }
}
