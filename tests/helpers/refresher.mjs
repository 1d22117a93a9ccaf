// The datapath's side of the GC race: keeps flipping a set of CT entries
// between "expired" (lifetime 1) and "refreshed" (lifetime FUTURE) with
// BPF_EXIST updates. An update that finds its key gone tells who deleted it:
// after an "expired" write it was a legitimate GC delete; after a
// "refreshed" write GC deleted a live connection (a stale delete, "lost").
// The key is then recreated expired. Uses the built library.
import { BpfMap, UpdateFlags, BpfError } from '../../dist/syscall/index.js';

const [path, msArg, countArg] = process.argv.slice(2);
const m = BpfMap.openPinned(path);
const end = Date.now() + Number(msArg);
const n = Number(countArg);
const FUTURE = 0x7fffffff;
const keys = [];
for (let i = 0; i < n; i++) {
  const k = new Uint8Array(14);
  k[0] = 10; k[1] = (i >> 16) & 255; k[2] = (i >> 8) & 255; k[3] = i & 255;
  k[4] = 192; k[5] = 168; k[6] = 0; k[7] = 1;
  k[8] = 0x00; k[9] = 0x50; k[10] = (i >> 8) & 255; k[11] = i & 255; k[12] = 6;
  keys.push(k);
}
const value = new Uint8Array(56);
const dv = new DataView(value.buffer);
const refreshed = new Uint8Array(n);
let lost = 0;
let legit = 0;
let ops = 0;
while (Date.now() < end) {
  for (let i = 0; i < n; i++) {
    const next = refreshed[i] ? 1 : FUTURE;
    dv.setUint32(32, next, true);
    try {
      m.set(keys[i], value, UpdateFlags.BPF_EXIST);
      refreshed[i] = next === FUTURE ? 1 : 0;
    } catch (err) {
      if (!BpfError.is(err, 'ENOENT')) throw err;
      if (refreshed[i]) lost++;
      else legit++;
      dv.setUint32(32, 1, true);
      m.set(keys[i], value, UpdateFlags.BPF_NOEXIST);
      refreshed[i] = 0;
    }
    ops++;
  }
}
m.close();
process.stdout.write(JSON.stringify({ lost, legit, ops }) + '\n');
