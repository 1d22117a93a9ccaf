/** Seeded randomness (the emulator's mulberry32) so property and fuzz tests are reproducible. */
import { seededRandom } from '../../src/testing/emulator.js';

export interface Rng {
  u32(): number;
  int(n: number): number;
  bytes(n: number): Uint8Array;
}

export function rng(seed: number): Rng {
  const next = seededRandom(seed);
  const u32 = (): number => Math.floor(next() * 4294967296) >>> 0;
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
