/**
 * Little-endian byte helpers on plain byte arrays: what key and value codecs
 * and the hot loops (GC, purge, listing) read straight from batch buffers.
 * Hosts are little-endian (x86-64, arm64), as Cilium assumes; fields the
 * kernel keeps in network order are read "raw" with these and swapped by
 * the caller when a host-order value is wanted.
 */
export function dataView(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

// Per-object decoding uses these instead of a DataView: building a DataView over a small fresh
// Uint8Array forces V8 to move its storage off-heap, which costs ~1 µs.
export function getU16(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
}
export function getU32(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}
export function getU64(b: Uint8Array, o: number): bigint {
  const lo = getU32(b, o);
  const hi = getU32(b, o + 4);
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}
export function setU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function setU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
/** Swap the two bytes at `o` in place: a network-order u16 becomes host order and back. */
export function swapU16At(b: Uint8Array, o: number): void {
  const lo = b[o] ?? 0;
  b[o] = b[o + 1] ?? 0;
  b[o + 1] = lo;
}
export function setU64(b: Uint8Array, o: number, v: bigint): void {
  setU32(b, o, Number(v & 0xffffffffn));
  setU32(b, o + 4, Number(v >> 32n));
}
