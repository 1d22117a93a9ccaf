// The npm `bpf` package (mildsunrise/node_bpf: libbpf's syscall wrappers through N-API) doing what bench/cbench.c
// and bench/tsrun.ts do, for `make bench`'s third column: count the CT map, and GC it the batched way (batch
// reads, one batch delete of a batch's expired keys, the SNAT entry of each removed egress flow taken with a
// lookup-and-delete, the reverse keys in one batch delete). The package's API is used as its README shows:
// RawMap over a MapRef from a pinned fd; getBatch yields [key, value] Buffer pairs.
//
//   node run.cjs OP CT_PIN NAT_PIN TIME MAX_ENTRIES
'use strict';
const bpf = require('bpf');

const KEY = 14;
const OFF_LIFETIME = 32;
const NAT_ADDR = 32;
const NAT_PORT = 36;
const [op = '', ctPin = '', natPin = '', timeArg = '1000', maxArg = '1048576'] = process.argv.slice(2);
const time = Number(timeArg);
const max = Number(maxArg);

function open(path) {
  return new bpf.RawMap(bpf.createMapRef(bpf.objGet(path), { transfer: true }));
}

// The batch size cbench.c's start_chunk and ctmap start with: the smallest power of two c with c² ≥ 2 × max_entries.
let chunk = 1;
while (chunk * chunk < 2 * max) chunk *= 2;

/** The SNAT OUT key of a CT egress key: the addresses swapped. */
function natOutKey(k) {
  const o = Buffer.alloc(KEY);
  k.copy(o, 0, 4, 8); k.copy(o, 4, 0, 4); k.copy(o, 8, 8, 14); o[13] = 0;
  return o;
}

function natRevKey(out, val) {
  const r = Buffer.alloc(KEY);
  out.copy(r, 4, 0, 4); out.copy(r, 10, 8, 10); val.copy(r, 0, NAT_ADDR, NAT_ADDR + 4); val.copy(r, 8, NAT_PORT, NAT_PORT + 2);
  r[12] = out[12]; r[13] = 1;
  return r;
}

const ct = open(ctPin);
const t0 = process.hrtime.bigint();
let result;
if (op === 'count') {
  let entries = 0;
  for (const batch of ct.getBatch(chunk)) entries += batch.length;
  result = { op, entries };
} else if (op === 'gc') {
  const nat = open(natPin);
  let deleted = 0;
  let alive = 0;
  let natDeleted = 0;
  for (const batch of ct.getBatch(chunk)) {
    const doomed = [];
    for (const [k, v] of batch) {
      if (v.readUInt32LE(OFF_LIFETIME) < time) doomed.push(k);
      else alive++;
    }
    if (doomed.length === 0) continue;
    ct.deleteBatch(doomed);
    deleted += doomed.length;
    const rev = [];
    for (const k of doomed) {
      if (k[13] !== 0) continue;
      const out = natOutKey(k);
      const val = nat.getDelete(out);
      if (val === undefined) continue;
      natDeleted++;
      rev.push(natRevKey(out, val));
    }
    if (rev.length > 0) {
      nat.deleteBatch(rev);
      natDeleted += rev.length;
    }
  }
  result = { op, deleted, alive, natDeleted };
} else {
  throw new Error(`unknown op ${op}`);
}
result.ns = Number(process.hrtime.bigint() - t0);
result.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(`${JSON.stringify(result)}\n`);
