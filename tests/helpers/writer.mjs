// A second process hammering a pinned map: inserts and deletes random u32
// keys in [0, range) until `ms` elapse, then prints how many ops it did.
// Uses the built library (make test builds before the suite runs).
import { BpfMap } from '../../dist/syscall/index.js';

const [path, msArg, rangeArg, seedArg] = process.argv.slice(2);
const m = BpfMap.openPinned(path);
const end = Date.now() + Number(msArg);
const range = Number(rangeArg);
let s = Number(seedArg) >>> 0;
const key = new Uint8Array(4);
const kv = new DataView(key.buffer);
const value = new Uint8Array(m.valueSize);
let ops = 0;
while (Date.now() < end) {
  for (let i = 0; i < 256; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    kv.setUint32(0, s % range, true);
    if (s & 0x10000) m.set(key, value);
    else m.delete(key);
    ops++;
  }
}
m.close();
process.stdout.write(`${ops}\n`);
