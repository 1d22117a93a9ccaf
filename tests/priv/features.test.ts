// Feature probes: each says yes on a kernel known to have the feature (or the test fails), and the
// library names a missing one with its first kernel release.
import t from 'tap';
import { release } from 'node:os';
import { requireKernelFeature, requirePrivileged } from '../helpers/priv.js';
import { Features, haveFeature, requireFeature, kernelVersion, kernelAtLeast, NotSupportedError, BpfMap, MapType } from '../../src/syscall/index.js';
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
  using m = BpfMap.create({ name: 'feat', type: MapType.LRUHash, keySize: 4, valueSize: 4, maxEntries: 64 });
  const keys = new Uint8Array(64 * 4);
  for (let i = 0; i < 64; i++) keys[i * 4] = i;
  t.same(m.updateBatch(keys, new Uint8Array(64 * 4)), { done: 64, missing: 0 });
  t.equal(m.count(), 64);
  if (requireKernelFeature(t, Features.lookupAndDeleteHash)) {
    const out = new Uint8Array(4);
    t.equal(m.lookupAndDelete(keys.subarray(0, 4), out), true);
    t.equal(m.lookupAndDelete(keys.subarray(0, 4), out), false, 'a missing key is a value');
  }
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
