// Feature probes: each says yes on a kernel known to have the feature (or the test fails), and the
// library names a missing one with its first kernel release.
import t from 'tap';
import { release } from 'node:os';
import { requireKernelFeature, requirePrivileged } from '../helpers/priv.js';
import { Features, haveFeature, requireFeature, kernelVersion, kernelAtLeast, NotSupportedError, BpfMap, MapType, BpfCmd, Errno, defaultKernel } from '../../src/syscall/index.js';
import { caught } from '../helpers/priv.js';

t.test('every probe agrees with the kernel release', async (t) => {
  if (!requirePrivileged(t)) return;
  for (const f of Object.values(Features)) {
    t.test(f.name, async (t) => {
      if (!requireKernelFeature(t, f)) return;
      t.ok(haveFeature(f), `${f.description}: supported on ${release()} (since ${f.minKernel})`);
      t.doesNotThrow(() => { requireFeature(f); });
    });
  }
});

t.test('the features ctmap relies on work end to end where the probe says so', async (t) => {
  if (!requirePrivileged(t)) return;
  if (!requireKernelFeature(t, Features.batchOps)) return;
  using m = BpfMap.create({ name: 'feat', type: MapType.LRUHash, keySize: 4, valueSize: 4, maxEntries: 256 });
  const keys = new Uint8Array(64 * 4);
  for (let i = 0; i < 64; i++) keys[i * 4] = i;
  t.same(m.updateBatch(keys, new Uint8Array(64 * 4)), { done: 64, missing: 0 });
  t.equal(m.count(), 64);
  // LOOKUP_AND_DELETE on a hash map: native from 5.14, a lookup then a delete before — the same answers either way.
  const out = new Uint8Array(4);
  const how = haveFeature(Features.lookupAndDeleteHash) ? 'native' : 'lookup + delete (pre-5.14 fallback)';
  m.set(keys.subarray(0, 4), Uint8Array.of(1, 2, 3, 4));
  t.equal(m.lookupAndDelete(keys.subarray(0, 4), out), true, how);
  t.same([...out], [1, 2, 3, 4], `${how}: the value`);
  t.equal(m.get(keys.subarray(0, 4)), undefined, `${how}: the key is gone`);
  t.equal(m.lookupAndDelete(keys.subarray(0, 4), out), false, `${how}: a missing key is a value`);
  t.equal(m.count(), 63, 'nothing else touched');
});

t.test('a kernel without LOOKUP_AND_DELETE on hash maps (as before 5.14): the fallback, probed once', async (t) => {
  if (!requirePrivileged(t)) return;
  const seen: number[] = [];
  const old = defaultKernel().intercept((cmd, attr, size, next) => {
    seen.push(cmd);
    // What 5.10 answers for hash maps (htab_map_ops has no map_lookup_and_delete_elem: EINVAL... ENOTSUPP on some).
    return cmd === BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM ? -Errno.ENOTSUPP : next(cmd, attr, size);
  });
  t.equal(haveFeature(Features.lookupAndDeleteHash, old), false, 'the probe sees it missing');
  t.throws(() => { requireFeature(Features.lookupAndDeleteHash, old); }, { name: 'NotSupportedError', message: 'requires Linux 5.14 or newer' });
  using m = BpfMap.create({ name: 'feat_old', type: MapType.LRUHash, keySize: 4, valueSize: 4, maxEntries: 8 }, { kernel: old });
  const k = Uint8Array.of(1, 0, 0, 0);
  const out = new Uint8Array(4);
  for (let round = 0; round < 2; round++) {
    m.set(k, Uint8Array.of(9, 8, 7, round));
    seen.length = 0;
    t.equal(m.lookupAndDelete(k, out), true, `round ${round}: taken`);
    t.same([...out], [9, 8, 7, round]);
    t.equal(m.get(k), undefined);
    // The first call tries the command once, then remembers; later calls go straight to lookup + delete.
    t.same(seen.slice(0, -1), round === 0 ? [BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, BpfCmd.BPF_MAP_LOOKUP_ELEM, BpfCmd.BPF_MAP_DELETE_ELEM] : [BpfCmd.BPF_MAP_LOOKUP_ELEM, BpfCmd.BPF_MAP_DELETE_ELEM], `round ${round}: the syscalls`);
  }
  t.equal(m.lookupAndDelete(k, out), false, 'absent: false');
  // An array map never had a delete: its error is the kernel's, not a fallback.
  using a = BpfMap.create({ name: 'feat_arr', type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 2 }, { kernel: old });
  t.throws(() => a.lookupAndDelete(Uint8Array.of(0, 0, 0, 0), out), { name: 'BpfError', code: 'ENOTSUPP' });
});

t.test('kernel versions and the NotSupported error', async (t) => {
  t.same(kernelVersion('6.1.0-56-amd64'), [6, 1]);
  t.same(kernelVersion('6.12.117+deb12-amd64'), [6, 12]);
  t.same(kernelVersion('weird'), [0, 0]);
  t.ok(kernelAtLeast('5.14', '6.1.0'));
  t.ok(kernelAtLeast('5.6', '5.6.0'));
  t.notOk(kernelAtLeast('5.14', '5.10.200'));
  t.notOk(kernelAtLeast('5.6', '4.19.0'));
  const e = new NotSupportedError(Features.batchOps.description, Features.batchOps.minKernel);
  t.match(e.message, /requires Linux 5\.6 or newer/);
  t.equal(e.minKernel, '5.6');
  t.ok(caught(() => { throw e; }) instanceof NotSupportedError);
});
