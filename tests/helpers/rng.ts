/** A small seeded PRNG (mulberry32) so property and fuzz tests are reproducible. */
export interface Rng {
  u32(): number;
  int(n: number): number;
  bytes(n: number): Uint8Array;
}

export function rng(seed: number): Rng {
  let s = seed >>> 0;
  const u32 = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return (x ^ (x >>> 14)) >>> 0;
  };
  return {
    u32,
    int: (n) => u32() % n,
    bytes(n) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const v = u32();
        b[i] = v & 0xff;
        if (i + 1 < n) b[i + 1] = (v >>> 8) & 0xff;
        if (i + 2 < n) b[i + 2] = (v >>> 16) & 0xff;
        if (i + 3 < n) b[i + 3] = v >>> 24;
      }
      return b;
    },
  };
}
