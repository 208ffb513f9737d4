// The parts of the pure-JavaScript codec packages lib/kafka-codecs.ts uses (they ship no types).
declare module 'snappyjs' {
  /** Throws if the decoded length would pass maxLength. */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
  export function compress(uncompressed: Uint8Array): Uint8Array;
  const snappy: { uncompress: typeof uncompress; compress: typeof compress };
  export default snappy;
}

declare module 'lz4js' {
  /** Reads the frame's headers: an upper bound of its decoded size. */
  export function decompressBound(src: Uint8Array): number;
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  export function compress(src: Uint8Array, maxSize?: number): Uint8Array;
  const lz4: { decompressBound: typeof decompressBound; decompress: typeof decompress; compress: typeof compress };
  export default lz4;
}
