// fd hygiene and batch iteration under a concurrent writer, on real maps.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caught, openFdCount, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { BpfMap, MapType, BpfError } from '../../src/syscall/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const SPEC = { name: 'fdtest', type: MapType.LRUHash, keySize: 4, valueSize: 8, maxEntries: 1024 } as const;

t.test('10,000 open/close cycles leave the fd count unchanged', async (t) => {
  if (!requirePrivileged(t)) return;
  const fs = privateBpffs(t);
  const path = join(fs, 'fdtest');
  const base = BpfMap.openOrCreate(SPEC, path).map;
  const before = openFdCount();
  for (let i = 0; i < 10_000; i++) {
    const m = BpfMap.openPinned(path, { expect: SPEC });
    if (i % 1000 === 0) m.count();
    m.close();
  }
  t.equal(openFdCount(), before, 'openPinned + close');
  for (let i = 0; i < 2_000; i++) {
    try {
      BpfMap.openPinned(path, { expect: { ...SPEC, keySize: 8 } });
    } catch {
      // refused as incompatible; the fd it opened must be closed
    }
    try {
      BpfMap.openPinned(join(fs, 'missing'));
    } catch {
      // ENOENT
    }
  }
  t.equal(openFdCount(), before, 'error paths leak nothing');
  for (let i = 0; i < 1_000; i++) {
    using m = BpfMap.openPinned(path);
    m.get(new Uint8Array(4));
  }
  t.equal(openFdCount(), before, '`using` disposes');
  base.close();
  base.close();
  t.equal(openFdCount(), before - 1, 'close is idempotent');
  const e = caught(() => base.get(new Uint8Array(4)));
  t.ok(e instanceof BpfError && e.code === 'EBADF', 'a closed map fails with EBADF, never touches a reused fd');
  t.ok(base.closed);
});

t.test('the FinalizationRegistry backstop closes dropped maps', { skip: typeof globalThis.gc !== 'function' ? 'run with --expose-gc to check the backstop' : false }, async (t) => {
  if (!requirePrivileged(t)) return;
  const before = openFdCount();
  (() => { for (let i = 0; i < 50; i++) BpfMap.create(SPEC); })();
  for (let i = 0; i < 20 && openFdCount() > before; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(openFdCount(), before);
});

t.test('batch iteration while another process inserts and deletes', async (t) => {
  if (!requirePrivileged(t)) return;
  const fs = privateBpffs(t);
  const path = join(fs, 'busy');
  const spec = { name: 'busy', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 8192 } as const;
  using m = BpfMap.openOrCreate(spec, path).map;
  const writer = spawn(process.execPath, [resolve(here, '..', 'helpers', 'writer.mjs'), path, '2500', '6000', '7'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let ops = '';
  writer.stdout.on('data', (d: Buffer) => { ops += d.toString(); });
  const exited = new Promise<number | null>((r) => writer.on('close', r)); // close: stdout fully read
  let walks = 0;
  let dupWalks = 0;
  let entries = 0;
  const started = Date.now();
  while (Date.now() - started < 2000) {
    const seen = new Set<number>();
    let dup = false;
    for (const b of m.batches({ chunk: 16 })) {
      const dv = new DataView(b.keys.buffer, b.keys.byteOffset);
      for (let i = 0; i < b.count; i++) {
        const k = dv.getUint32(i * 4, true);
        if (seen.has(k)) dup = true;
        seen.add(k);
      }
    }
    walks++;
    entries += seen.size;
    if (dup) dupWalks++;
    await new Promise((r) => setImmediate(r));
  }
  t.equal(await exited, 0, 'writer finished cleanly');
  t.ok(Number(ops) > 0, `writer did ${ops.trim()} ops`);
  t.ok(walks > 5, `${walks} walks, ${entries} entries seen`);
  t.equal(dupWalks, 0, 'no walk reported a key twice');
});
