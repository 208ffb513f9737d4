/**
 * Bytes cut at random places (fractions from fast-check), as a stream or a file read hands them
 * over in chunks. `keepEmpty`: cuts at the very start or end give empty chunks too.
 */
export function cutAt(all: Buffer, at: number[], opts: { keepEmpty?: boolean } = {}): Buffer[] {
  const points = [...new Set(at.map((x) => Math.floor(x * all.length)))].filter((p) => opts.keepEmpty || (p > 0 && p < all.length)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(all.subarray(from, p));
    from = p;
  }
  out.push(all.subarray(from));
  return out;
}
