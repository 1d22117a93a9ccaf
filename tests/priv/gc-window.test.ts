// Safe mode's window (src/ctmap/gc.ts #safeWindow) when the kernel does not go along: an entry gone before its
// re-read or before its delete is skipped, a refreshed one deferred, a re-read or delete that fails keeps the entry
// (logged), and a crossing that fails as a whole keeps its whole window. The real kernel runs the vectors; a spy on
// its vector entry point changes the map between the crossings, or answers for the kernel.
import t from 'tap';
import type { Test } from 'tap';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { refuseAll, vectorKernel, type VecHook } from '../helpers/vecspy.js';
import { openNode, type Node } from '../../src/index.js';
import { CtEntry, CtKey4Global } from '../../src/structs/index.js';
import { BpfCmd, BpfMap, Errno, defaultKernel } from '../../src/syscall/index.js';
import { dataView } from '../../src/structs/bytes.js';

function key(i: number): CtKey4Global {
  return CtKey4Global.fromFlow({ src: `10.0.${i >> 8}.${i & 255}:4000`, dst: '192.168.0.1:80', proto: 'TCP' });
}

/** A node on the real kernel whose vector crossings go through `vec(calls, n, stop, real)` first. */
/** A log line with the error's code and command, as a warning names them. */
function logLine(level: string, m: string, f?: { error?: unknown }): string {
  const e = f?.error as { code?: string; command?: string } | undefined;
  return e === undefined ? `${level}: ${m}` : `${level}: ${m} (${e.command ?? '?'} ${e.code ?? '?'})`;
}

function build(t: Test, logs: string[], vec: VecHook): Node {
  const kernel = vectorKernel(vec);
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 2048, any: 1024 }, natEntries: 4096, create: true, ipv6: false, kernel,
    logger: (level, m, f) => { logs.push(logLine(level, m, f)); } });
  t.teardown(() => { n.close(); });
  for (let i = 0; i < 8; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: 10 }));
  return n;
}

const left = (n: Node): number => n.ct.tcp4.count();

t.test('entries that vanish or change between the crossings: skipped, deferred, the rest deleted', async (t) => {
  if (!requirePrivileged(t)) return;
  const logs: string[] = [];
  // Gone before the re-read: key 0. Refreshed before the re-read: key 1. Gone between the re-read and the delete: key 2.
  const n: Node = build(t, logs, (cmd, calls, m, stop, real) => {
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM) {
      n.ct.tcp4.delete(key(0));
      n.ct.tcp4.update(key(1), new CtEntry({ lifetime: 5000 }));
    }
    if (cmd === BpfCmd.BPF_MAP_DELETE_ELEM) n.ct.tcp4.delete(key(2));
    return real(calls, m, stop);
  });
  const s = n.ct.tcp4.gc({ time: 100, natFollowUp: false, safeWindow: 16 });
  t.same([s.deleted, s.skipped, s.deferred], [5, 2, 1], 'five deleted; two skipped (gone before the re-read, gone before the delete); one deferred');
  t.same([...n.ct.tcp4].map((r) => [r.key.toString(), r.entry.lifetime]), [[key(1).toString(), 5000]], 'only the refreshed entry is left');
  t.same(logs, [], 'nothing to warn about');
});

t.test('a refreshed entry that is still doomed goes: a changed lifetime alone does not save it', async (t) => {
  if (!requirePrivileged(t)) return;
  const logs: string[] = [];
  const n: Node = build(t, logs, (cmd, calls, m, stop, real) => {
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM) n.ct.tcp4.update(key(3), new CtEntry({ lifetime: 50 }));
    return real(calls, m, stop);
  });
  const s = n.ct.tcp4.gc({ time: 100, natFollowUp: false, safeWindow: 16 });
  t.same([s.deleted, s.deferred], [8, 0], 'lifetime 50 is still below 100');
  t.equal(left(n), 0);
});

t.test('re-reads or deletes the kernel refuses keep their entries, logged; a failed crossing keeps its window', async (t) => {
  if (!requirePrivileged(t)) return;
  for (const [what, cmdHit, how] of [
    ['re-reads refused (EPERM)', BpfCmd.BPF_MAP_LOOKUP_ELEM, 'results'], ['deletes refused (EPERM)', BpfCmd.BPF_MAP_DELETE_ELEM, 'results'],
    ['the re-read crossing fails', BpfCmd.BPF_MAP_LOOKUP_ELEM, 'throw'], ['the delete crossing fails', BpfCmd.BPF_MAP_DELETE_ELEM, 'throw'],
  ] as const) {
    const logs: string[] = [];
    const n = build(t, logs, (cmd, calls, m, stop, real) => {
      if (cmd !== cmdHit) return real(calls, m, stop);
      if (how === 'throw') throw new Error('injected: the crossing failed');
      return refuseAll(calls, m, Errno.EPERM);
    });
    const s = n.ct.tcp4.gc({ time: 100, natFollowUp: false, safeWindow: 16 });
    t.same([s.deleted, s.skipped, s.deferred], [0, 0, 0], `${what}: nothing deleted, skipped or deferred`);
    t.equal(left(n), 8, `${what}: every entry kept`);
    const read = cmdHit === BpfCmd.BPF_MAP_LOOKUP_ELEM;
    const want = `warn: ${read ? 'Unable to re-read CT entry before deleting it' : 'Unable to delete CT entry'} (${how === 'throw' ? '? ?' : `${read ? 'BPF_MAP_LOOKUP_ELEM' : 'BPF_MAP_DELETE_ELEM'} EPERM`})`;
    t.same(logs, how === 'throw' ? [want] : Array<string>(8).fill(want), `${what}: logged ${how === 'throw' ? 'once for the crossing' : 'once per entry, with the errno and command'}`);
  }
});

t.test('a window of 1 (each re-read followed by its delete): the same outcomes and warnings, one entry at a time', async (t) => {
  if (!requirePrivileged(t)) return;
  for (const [what, refuse, errno] of [['re-reads refused', BpfCmd.BPF_MAP_LOOKUP_ELEM, Errno.EPERM], ['deletes refused', BpfCmd.BPF_MAP_DELETE_ELEM, Errno.EPERM],
    ['entries gone before their delete', BpfCmd.BPF_MAP_DELETE_ELEM, Errno.ENOENT]] as const) {
    const logs: string[] = [];
    let ctFd = -1;
    const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
      if (cmd === refuse && dataView(attr).getUint32(0, true) === ctFd) return -errno;
      return next(cmd, attr, size);
    });
    const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 2048, any: 1024 }, natEntries: 4096, create: true, ipv6: false, kernel,
      logger: (level, m, f) => { logs.push(logLine(level, m, f)); } });
    t.teardown(() => { n.close(); });
    for (let i = 0; i < 4; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: 10 }));
    ctFd = n.ct.tcp4.bpfMap.fdValue;
    const s = n.ct.tcp4.gc({ time: 100, natFollowUp: false, safeWindow: 1 });
    ctFd = -1;
    const gone = errno === Errno.ENOENT;
    t.same([s.deleted, s.skipped], [0, gone ? 4 : 0], `${what}: nothing counted deleted${gone ? '; each counted skipped' : ''}`);
    t.equal(n.ct.tcp4.count(), 4, `${what}: every entry still there`);
    const want = refuse === BpfCmd.BPF_MAP_LOOKUP_ELEM ? 'warn: Unable to re-read CT entry before deleting it (BPF_MAP_LOOKUP_ELEM EPERM)'
      : 'warn: Unable to delete CT entry (BPF_MAP_DELETE_ELEM EPERM)';
    t.same(logs, gone ? [] : Array<string>(4).fill(want), `${what}: ${gone ? 'nothing to warn about' : 'a warning per entry'}`);
  }
});

t.test('progress: after each batch, the entries seen so far', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 2048, any: 1024 }, natEntries: 4096, create: true, ipv6: false, logger: () => undefined });
  t.teardown(() => { n.close(); });
  for (let i = 0; i < 300; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: i % 2 === 0 ? 10 : 5000 }));
  const seen: number[] = [];
  const s = n.ct.tcp4.gc({ time: 100, natFollowUp: false, chunk: 64, onProgress: (k) => seen.push(k) });
  t.equal(s.deleted, 150);
  t.ok(seen.length > 2, `${seen.length} batches`);
  t.ok(seen.every((k, i) => i === 0 || k > (seen[i - 1] as number)), 'rising');
  t.equal(seen.at(-1), 300, 'ending at every entry of the map');
});

t.test('a refreshed entry goes if a filter still dooms it, stays if only its age did (windows of 16 and 1)', async (t) => {
  if (!requirePrivileged(t)) return;
  for (const safeWindow of [16, 1]) {
    let refreshed = false;
    let ctFd = -1;
    // The "datapath": its own handle on the map (the node's handle re-reads through its scratch buffers).
    let writer: BpfMap | undefined = undefined;
    const refresh = (): void => {
      if (refreshed || writer === undefined) return;
      refreshed = true;
      // Both refreshed past the cutoff; key 3 also matches the IP filter.
      writer.set(key(3).raw, new CtEntry({ lifetime: 5000 }).raw);
      writer.set(key(4).raw, new CtEntry({ lifetime: 5000 }).raw);
    };
    const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
      if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM && dataView(attr).getUint32(0, true) === ctFd) refresh();
      return next(cmd, attr, size);
    });
    const base = vectorKernel((cmd, calls, m, stop, real) => {
      if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM) refresh();
      return real(calls, m, stop);
    });
    const n: Node = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 2048, any: 1024 }, natEntries: 4096, create: true, ipv6: false,
      kernel: safeWindow === 1 ? kernel : base, logger: () => undefined });
    t.teardown(() => { n.close(); });
    for (let i = 0; i < 8; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: 10 }));
    ctFd = n.ct.tcp4.bpfMap.fdValue;
    writer = BpfMap.fromId(n.ct.tcp4.bpfMap.id);
    const s = n.ct.tcp4.gc({ time: 100, matchIPs: ['10.0.0.3'], natFollowUp: false, safeWindow });
    ctFd = -1;
    writer.close();
    t.ok(refreshed, `window ${safeWindow}: the refresh happened between the batch read and the re-read`);
    t.same([s.deleted, s.deferred, s.skipped], [7, 1, 0], `window ${safeWindow}: seven deleted (key 3 by its address), one deferred`);
    t.same([...n.ct.tcp4].map((r) => [r.key.toString(), r.entry.lifetime]), [[key(4).toString(), 5000]], `window ${safeWindow}: only key 4 is left`);
  }
});

t.test('a window left with nothing to delete after its re-read makes no delete crossing', async (t) => {
  if (!requirePrivileged(t)) return;
  const crossings: number[] = [];
  const n: Node = build(t, [], (cmd, calls, m, stop, real) => {
    crossings.push(cmd);
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM) for (let i = 0; i < 8; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: 5000 }));
    return real(calls, m, stop);
  });
  const s = n.ct.tcp4.gc({ time: 100, natFollowUp: false, safeWindow: 16 });
  t.same([s.deleted, s.deferred], [0, 8], 'all eight refreshed before the re-read: deferred');
  t.same(crossings, [BpfCmd.BPF_MAP_LOOKUP_ELEM], 'one crossing, the re-read; no (empty) delete crossing');
  t.equal(left(n), 8);
});
