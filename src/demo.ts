/**
 * `make demo`: a real round trip through the kernel in a private bpffs.
 * Creates a map shaped like Cilium's cilium_ct4_global (LRU hash, 14-byte
 * key, 56-byte value), writes the entries the datapath would write for a
 * few flows, reads them back, pins it, reopens the pin, and prints the
 * entries in `cilium-dbg bpf ct list` form. Needs root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BpfMap, CtEntry, CtKey4Global, MapType, SeenNonSyn, mountBpffs, unmountBpffs, SizeofCtEntry, SizeofCtKey4Global,
} from './index.js';

function main(): void {
  const root = mkdtempSync(join(tmpdir(), 'ctmap-demo-'));
  mountBpffs(root);
  const say = (s: string): void => { process.stdout.write(`${s}\n`); };
  try {
    say(`mounted a private bpffs at ${root}`);
    const spec = { name: 'cilium_ct4_global', type: MapType.LRUHash, keySize: SizeofCtKey4Global, valueSize: SizeofCtEntry, maxEntries: 524288 } as const;
    const pin = join(root, 'tc', 'globals', spec.name);
    const created = BpfMap.openOrCreate(spec, pin);
    const m = created.map;
    say(`${created.outcome} ${String(m)} (kernel name "${m.name}", id ${m.id}) pinned at ${pin}`);
    const now = Math.floor(Number(process.hrtime.bigint() / 1_000_000_000n));
    const flows = [
      { src: '10.0.1.5:40312', dst: '10.0.2.9:80', proto: 'TCP', dir: 'OUT' },
      { src: '192.168.7.1:51000', dst: '10.0.1.5:443', proto: 'TCP', dir: 'IN' },
      { src: '10.0.1.5:33000', dst: '10.96.0.10:53', proto: 'UDP', dir: 'SVC' },
    ] as const;
    for (const [i, f] of flows.entries()) {
      const key = CtKey4Global.fromFlow(f);
      const entry = new CtEntry({ lifetime: now + 21600, flags: SeenNonSyn, packets: BigInt(10 + i), bytes: BigInt(1500 * (i + 1)), txFlagsSeen: 0x1b, lastTxReport: now });
      m.set(key.toBytes(), entry.toBytes());
      say(`wrote   ${Buffer.from(key.toBytes()).toString('hex')} (${f.proto} ${f.dir} ${f.src} -> ${f.dst})`);
    }
    const back = m.get(CtKey4Global.fromFlow(flows[0]).toBytes());
    say(`read back the first entry: lifetime=${back === undefined ? 'missing!' : CtEntry.fromBytes(back).lifetime}`);
    m.close();
    using again = BpfMap.openPinned(pin, spec);
    say(`reopened the pin: ${again.count()} entries, listed as cilium-dbg bpf ct list global prints them:`);
    for (const [k, v] of again.entries()) {
      const key = CtKey4Global.fromBytes(k).toHost();
      say(`  ${key.dump(true) ?? ''}${CtEntry.fromBytes(v).toString().trimEnd()}`);
    }
  } finally {
    unmountBpffs(root);
    rmSync(root, { recursive: true, force: true });
    say(`unmounted ${root}`);
  }
}

main();
