/**
 * Decode costs (the structs issue's performance targets), measured, never
 * asserted: the fields GC needs (lifetime, flags, key address bytes) read
 * straight from a batch-shaped buffer, and a full object decode. Also the
 * cost of one lookup through the FFI on a real map when run as root.
 *
 *   make bench          (prints a table, writes bench/results/decode.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { ctEntryLayout, ipv4CtTuple, CtEntry, CtKey4Global, SizeofCtEntry, SizeofCtKey4Global } from '../src/structs/index.js';
import { BpfMap, MapType } from '../src/syscall/index.js';

const N = 1 << 20;
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function fill(buf: Uint8Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < buf.length; i += 4) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    buf[i] = s & 0xff; buf[i + 1] = (s >>> 8) & 0xff; buf[i + 2] = (s >>> 16) & 0xff; buf[i + 3] = s >>> 24;
  }
}

const keys = new Uint8Array(N * SizeofCtKey4Global);
const values = new Uint8Array(N * SizeofCtEntry);
fill(keys, 1);
fill(values, 2);
const gc = (globalThis as { gc?: () => void }).gc;

function measure(name: string, body: () => number): { name: string; nsPerEntry: number; bytesPerEntry: number; check: number } {
  const times: number[] = [];
  const allocs: number[] = [];
  let check = 0;
  for (let r = 0; r < RUNS + 1; r++) {
    gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = process.hrtime.bigint();
    check = body();
    const ns = Number(process.hrtime.bigint() - t0);
    const heap1 = process.memoryUsage().heapUsed;
    if (r === 0) continue; // warm-up
    times.push(ns / N);
    allocs.push(Math.max(0, heap1 - heap0) / N);
  }
  return { name, nsPerEntry: median(times), bytesPerEntry: median(allocs), check };
}

const O = ctEntryLayout.offsetOf;
const K = ipv4CtTuple.offsetOf;
const gcFields = measure('GC fields from batch buffer (lifetime, flags, addresses)', () => {
  const vdv = new DataView(values.buffer);
  const kdv = new DataView(keys.buffer);
  let expired = 0;
  const now = 0x80000000;
  for (let i = 0; i < N; i++) {
    const v = i * SizeofCtEntry;
    const k = i * SizeofCtKey4Global;
    const lifetime = vdv.getUint32(v + O.lifetime, true);
    const flags = vdv.getUint16(v + O.flags, true);
    // The addresses as bytes: read in place, as GC's MatchIPs test does.
    const saddr = kdv.getUint32(k + K.saddr, false);
    const daddr = kdv.getUint32(k + K.daddr, false);
    if (lifetime < now || ((flags & 1) !== 0 && (saddr ^ daddr) === 0)) expired++;
  }
  return expired;
});

const fullDecode = measure('full object decode (CtKey4Global + CtEntry, all fields)', () => {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const k = CtKey4Global.fromBytes(keys.subarray(i * SizeofCtKey4Global, (i + 1) * SizeofCtKey4Global));
    const e = CtEntry.fromBytes(values.subarray(i * SizeofCtEntry, (i + 1) * SizeofCtEntry));
    const f = e.toFields();
    sum += k.destPort + k.sourcePort + k.flags + f.lifetime + f.flags + Number(f.packets & 1n) + k.destAddr.length;
  }
  return sum;
});

const rows: { name: string; value: string }[] = [
  // Heap growth over the whole loop, per entry: ~0 means the loop allocates nothing per entry.
  { name: gcFields.name, value: `${gcFields.nsPerEntry.toFixed(1)} ns/entry, heap growth ${gcFields.bytesPerEntry.toFixed(2)} B/entry` },
  // Full decode allocates objects by design; young-generation GC reclaims them during the loop.
  { name: fullDecode.name, value: `${fullDecode.nsPerEntry.toFixed(1)} ns/entry` },
];
const result: Record<string, unknown> = { entries: N, runs: RUNS, node: process.version, gcFields, fullDecode };

if (process.getuid?.() === 0) {
  try {
    using m = BpfMap.create({ name: 'bench_ops', type: MapType.LRUHash, keySize: 14, valueSize: 56, maxEntries: 1024 });
    const k = new Uint8Array(14);
    const v = new Uint8Array(56);
    m.set(k, v);
    const OPS = 200_000;
    const lookups: number[] = [];
    const updates: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < OPS; i++) m.lookupInto(k, v);
      lookups.push(Number(process.hrtime.bigint() - t0) / OPS);
      t0 = process.hrtime.bigint();
      for (let i = 0; i < OPS; i++) m.set(k, v);
      updates.push(Number(process.hrtime.bigint() - t0) / OPS);
    }
    result.lookupNs = median(lookups);
    result.updateNs = median(updates);
    rows.push({ name: 'one lookup through the FFI (LRU hash, 14/56)', value: `${median(lookups).toFixed(0)} ns/op` });
    rows.push({ name: 'one update through the FFI (LRU hash, 14/56)', value: `${median(updates).toFixed(0)} ns/op` });
  } catch (err) {
    rows.push({ name: 'single ops', value: `not measured: ${(err as Error).message}` });
  }
}

const w = Math.max(...rows.map((r) => r.name.length));
process.stdout.write(`ctmap decode benchmark: ${N} entries, median of ${RUNS} runs, ${process.version}\n`);
for (const r of rows) process.stdout.write(`  ${r.name.padEnd(w)}  ${r.value}\n`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/decode.json', `${JSON.stringify(result, null, 2)}\n`);
