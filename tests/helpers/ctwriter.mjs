// A datapath stand-in for the reliability suite: inserts (with a given
// lifetime), refreshes and deletes CT entries with indices in [lo, hi) at full
// speed until `ms` elapse, then prints which keys it left alive (its last op
// on them was a write). Uses the built library.
import { BpfMap } from '../../dist/syscall/index.js';

const [path, msArg, loArg, hiArg, lifeArg, seedArg] = process.argv.slice(2);
const m = BpfMap.openPinned(path);
const end = Date.now() + Number(msArg);
const lo = Number(loArg);
const hi = Number(hiArg);
const life = Number(lifeArg);
let s = Number(seedArg) >>> 0;
const key = (i) => Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255, 192, 168, 0, 1, 0, 0x50, (i >> 8) & 255, i & 255, 6, 0);
const value = new Uint8Array(56);
new DataView(value.buffer).setUint32(32, life, true);
const written = new Uint8Array(hi - lo);
let ops = 0;
while (Date.now() < end) {
  for (let j = 0; j < 256; j++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const i = lo + (s % (hi - lo));
    if ((s >>> 16) % 4 !== 0) {
      m.set(key(i), value);
      written[i - lo] = 1;
    } else {
      m.delete(key(i));
      written[i - lo] = 0;
    }
    ops++;
  }
}
m.close();
const alive = [];
for (let i = 0; i < written.length; i++) if (written[i]) alive.push(lo + i);
process.stdout.write(JSON.stringify({ ops, alive }) + '\n');
