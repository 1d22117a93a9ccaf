// removeMemlock (src/syscall/memlock.ts) over a fake kernel that charges map creation to a simulated
// RLIMIT_MEMLOCK the way Linux before 5.11 does, and over this machine's kernel (which does not).
import t from 'tap';
import { Kernel } from '../../src/syscall/kernel.js';
import { BpfCmd } from '../../src/syscall/attr.js';
import { Errno } from '../../src/syscall/errors.js';
import { removeMemlock, RLIMIT_MEMLOCK, RLIM_INFINITY } from '../../src/syscall/memlock.js';
import type { BpfBackend } from '../../src/syscall/ffi.js';
import { FakeKernel } from '../helpers/fakekernel.js';
import { requirePrivileged } from '../helpers/priv.js';
import { kernelAtLeast } from '../../src/syscall/features.js';
import { defaultKernel } from '../../src/syscall/kernel.js';

interface Sim { cur: bigint; max: bigint; charged: boolean; canRaise: boolean; getFails?: boolean; sets: [bigint, bigint][]; creates: number }

/** A fake kernel whose map creation needs 4 KiB of memlock when `charged`, with a simulated rlimit. */
function simulated(sim: Sim): Kernel {
  const fake = new FakeKernel();
  const backend: BpfBackend = {
    name: 'sim',
    address: (b) => fake.address(b),
    call: (cmd, attr, size) => {
      if (cmd === BpfCmd.BPF_MAP_CREATE) {
        sim.creates++;
        if (sim.charged && sim.cur < 4096n) return -Errno.EPERM;
      }
      return fake.call(cmd, attr, size);
    },
    rlimit: {
      get: (r) => {
        t.equal(r, RLIMIT_MEMLOCK);
        return sim.getFails === true ? -Errno.EFAULT : [sim.cur, sim.max];
      },
      set: (r, cur, max) => {
        t.equal(r, RLIMIT_MEMLOCK);
        // setrlimit: raising the hard limit (or the soft above it) needs CAP_SYS_RESOURCE.
        if (cur > max || ((max > sim.max || cur > sim.max) && !sim.canRaise)) return -Errno.EPERM;
        sim.sets.push([cur, max]);
        sim.cur = cur;
        sim.max = max;
        return 0;
      },
    },
  };
  return new Kernel(backend);
}

t.test('a kernel that does not charge maps: probed with the limit at 0, restored, not raised', async (t) => {
  const sim: Sim = { cur: 65536n, max: 65536n, charged: false, canRaise: true, sets: [], creates: 0 };
  const k = simulated(sim);
  const o = removeMemlock(k);
  t.same(o, { charged: false, raised: false, limit: 65536n });
  t.same(sim.sets, [[0n, 65536n], [65536n, 65536n]], 'the soft limit went to 0 for the probe and came back');
  t.equal(sim.creates, 1, 'one probe map');
  t.equal(removeMemlock(k), o, 'once per kernel');
  t.equal(sim.creates, 1);
});

t.test('a kernel that charges maps (before 5.11): raised to unlimited, then creation works', async (t) => {
  const sim: Sim = { cur: 65536n, max: 65536n, charged: true, canRaise: true, sets: [], creates: 0 };
  const k = simulated(sim);
  t.same(removeMemlock(k), { charged: true, raised: true, limit: RLIM_INFINITY });
  t.same([sim.cur, sim.max], [RLIM_INFINITY, RLIM_INFINITY]);
  t.same(sim.sets.at(-1), [RLIM_INFINITY, RLIM_INFINITY]);
  t.same(sim.sets[0], [0n, 65536n], 'probed at 0 first');
});

t.test('without CAP_SYS_RESOURCE: up to the hard limit, or nothing, and the outcome says why', async (t) => {
  const soft: Sim = { cur: 1024n, max: 1048576n, charged: true, canRaise: false, sets: [], creates: 0 };
  const o = removeMemlock(simulated(soft));
  t.same([o.charged, o.raised, o.limit], [true, true, 1048576n]);
  t.match(o.note, /raised to the hard limit \(1048576 bytes\) only: unlimited needs CAP_SYS_RESOURCE/);
  const stuck: Sim = { cur: 1024n, max: 1024n, charged: true, canRaise: false, sets: [], creates: 0 };
  const s = removeMemlock(simulated(stuck));
  t.same([s.charged, s.raised, s.limit, s.note], [true, false, 1024n, 'raising it needs CAP_SYS_RESOURCE']);
  t.equal(stuck.cur, 1024n, 'the limit is as it was');
});

t.test('nothing to do, or no way to tell', async (t) => {
  const inf: Sim = { cur: RLIM_INFINITY, max: RLIM_INFINITY, charged: true, canRaise: true, sets: [], creates: 0 };
  t.same(removeMemlock(simulated(inf)), { charged: undefined, raised: false, limit: RLIM_INFINITY, note: 'already unlimited' });
  t.equal(inf.creates, 0, 'no probe when already unlimited');
  const broken: Sim = { cur: 1n, max: 1n, charged: true, canRaise: true, getFails: true, sets: [], creates: 0 };
  const b = removeMemlock(simulated(broken));
  t.same([b.charged, b.raised, b.limit], [undefined, false, undefined]);
  t.match(b.note, /^getrlimit\(RLIMIT_MEMLOCK\) failed: /);
  const none = removeMemlock(new FakeKernel().kernel);
  t.same([none.charged, none.raised], [undefined, false]);
  t.equal(none.note, 'the fake backend has no getrlimit/setrlimit');
  // An intercepted kernel keeps the rlimit calls (they are not bpf() calls).
  const sim: Sim = { cur: 4n, max: 4n, charged: false, canRaise: true, sets: [], creates: 0 };
  const seen: number[] = [];
  const ik = simulated(sim).intercept((cmd, attr, size, next) => { seen.push(cmd); return next(cmd, attr, size); });
  t.equal(removeMemlock(ik).charged, false);
  t.same(seen, [BpfCmd.BPF_MAP_CREATE], 'the probe went through the interceptor');
});

t.test('this machine\'s kernel: charged only before 5.11, and the limit is left as found when it is not', async (t) => {
  if (!requirePrivileged(t)) return;
  const k = defaultKernel();
  const rl = k.backend.rlimit;
  t.ok(rl !== undefined, 'the koffi backend reaches libc');
  const before = rl?.get(RLIMIT_MEMLOCK);
  const o = removeMemlock(k);
  if (kernelAtLeast('5.11')) {
    t.equal(o.raised, false, 'memcg accounting: nothing raised');
    t.ok(o.charged === false || o.note === 'already unlimited', JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    t.same(rl?.get(RLIMIT_MEMLOCK), before, 'getrlimit reads what it read before');
  } else {
    t.equal(o.charged, true, 'before 5.11 maps are charged');
    t.equal(o.limit, RLIM_INFINITY, 'and the limit is raised (as root)');
  }
});
