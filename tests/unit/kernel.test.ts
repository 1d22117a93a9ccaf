// The funnel (src/syscall/kernel.ts): Kernel.bpf with and without the attr's address, addressNumber's limit,
// and an intercepted kernel seeing every call as (cmd, attr, size) — also those BpfMap makes with an address.
import t from 'tap';
import { Kernel } from '../../src/syscall/kernel.js';
import type { BpfBackend } from '../../src/syscall/ffi.js';
import { BpfCmd, mapElemAttr } from '../../src/syscall/attr.js';
import { FakeKernel } from '../helpers/fakekernel.js';
import { BpfMap, MapType } from '../../src/syscall/index.js';

function backend(over: { address?: BpfBackend['address']; withAt?: boolean } = {}): { b: BpfBackend; log: string[] } {
  const log: string[] = [];
  const b: BpfBackend = {
    name: 'probe',
    call: (cmd, attr, size) => { log.push(`call ${cmd} ${attr.byteLength} ${size}`); return 7; },
    address: over.address ?? (() => 0x1000n),
    ...(over.withAt === false ? {} : { callAt: (cmd: number, at: number, size: number) => { log.push(`callAt ${cmd} ${at} ${size}`); return 8; } }),
  };
  return { b, log };
}

t.test('bpf(cmd, attr) calls with the attr; bpf(cmd, attr, at) with its address where the backend can', async (t) => {
  const { b, log } = backend();
  const k = new Kernel(b);
  const attr = new Uint8Array(20);
  t.equal(k.bpf(1, attr), 7);
  t.equal(k.bpf(2, attr, 4096), 8);
  t.same(log, ['call 1 20 20', 'callAt 2 4096 20'], 'the size is always the attr\'s');
  const { b: plain, log: plainLog } = backend({ withAt: false });
  t.equal(new Kernel(plain).bpf(3, attr, 4096), 7, 'a backend without callAt gets the attr itself');
  t.same(plainLog, ['call 3 20 20']);
});

t.test('addressNumber: exact up to 2^53 − 1, refused above', async (t) => {
  t.equal(new Kernel(backend({ address: () => 0x7fff_ffff_f000n }).b).addressNumber(new Uint8Array(1)), 0x7fff_ffff_f000);
  t.equal(new Kernel(backend({ address: () => BigInt(Number.MAX_SAFE_INTEGER) }).b).addressNumber(new Uint8Array(1)), Number.MAX_SAFE_INTEGER);
  t.throws(() => new Kernel(backend({ address: () => BigInt(Number.MAX_SAFE_INTEGER) + 1n }).b).addressNumber(new Uint8Array(1)), /does not fit a JavaScript number/);
});

t.test('an intercepted kernel sees BpfMap\'s element calls as attrs, with the key they carry', async (t) => {
  const fake = new FakeKernel();
  const seen: number[] = [];
  const k = fake.kernel.intercept((cmd, attr, size, next) => {
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM || cmd === BpfCmd.BPF_MAP_DELETE_ELEM) {
      t.equal(size, mapElemAttr.end);
      seen.push(cmd);
    }
    return next(cmd, attr, size);
  });
  t.notOk('callAt' in k.backend, 'no address path past an interceptor');
  using m = BpfMap.create({ name: 'k', type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 4 }, { kernel: k });
  m.set(Uint8Array.of(1, 0, 0, 0), Uint8Array.of(9, 9, 9, 9));
  t.same(m.get(Uint8Array.of(1, 0, 0, 0)), Uint8Array.of(9, 9, 9, 9));
  t.equal(m.delete(Uint8Array.of(1, 0, 0, 0)), true);
  t.equal(m.delete(Uint8Array.of(1, 0, 0, 0)), false);
  t.same(seen, [BpfCmd.BPF_MAP_LOOKUP_ELEM, BpfCmd.BPF_MAP_DELETE_ELEM, BpfCmd.BPF_MAP_DELETE_ELEM]);
});
