// Maps written by Cilium's own datapath (../shared/fixtures/cilium-datapath: bpf_host.c/bpf_lxc.c of Cilium main
// 890ea7a, run with BPF_PROG_TEST_RUN), restored byte for byte into a private bpffs: listing gives back every byte;
// GC at capture+30 s removes exactly the expired CT entries and exactly the SNAT entries they own, in both modes,
// through the library and the CLI; the orphan purge removes exactly the unowned SNAT entries; flush empties;
// opening with the agent's specs never recreates; and the CLI ends quietly when its reader goes away.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { recordedScenarios, hex, row, ownerOf, ctOf, owned, lifetime, family } from '../helpers/recorded.js';
import { openNode, Settings, type Node } from '../../src/index.js';
import { restoreScenario, scenarioEntries, readScenario, type Scenario, type RecordedEntry } from '../../src/testing/fixtures.js';
import { ctEntryText, type ConntrackMap } from '../../src/ctmap/index.js';
import { natLine, type NatMap } from '../../src/nat/index.js';
import { CtKey4Global, CtKey6Global, CtEntry, NatKey4, NatKey6, NatEntry4, NatEntry6, parseCtMapRecords, parseNatMapRecords } from '../../src/structs/index.js';
import type { Test } from 'tap';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '..', '..', 'dist', 'bin', 'ctmap.cjs');
const quiet = (): void => undefined;

function run(root: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, '--bpffs', root, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const ctNames = ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global'];
const natNames = ['cilium_snat_v4_external', 'cilium_snat_v6_external'];

function mapOf(node: Node, name: string): ConntrackMap | NatMap {
  const m = { cilium_ct4_global: node.ct.tcp4, cilium_ct_any4_global: node.ct.any4, cilium_ct6_global: node.ct.tcp6,
    cilium_ct_any6_global: node.ct.any6, cilium_snat_v4_external: node.nat.v4, cilium_snat_v6_external: node.nat.v6 }[name];
  if (m === undefined) throw new Error(`no map ${name}`);
  return m;
}

/** Every map's content as sorted rows (key hex + value hex), read through the batch iterator. */
function contents(node: Node): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of [...ctNames, ...natNames]) {
    const m = mapOf(node, name);
    const rows: string[] = [];
    for (const b of m.batches()) {
      for (let i = 0; i < b.count; i++) rows.push(hex(b.keys.subarray(i * b.keySize, (i + 1) * b.keySize)) + hex(b.values.subarray(i * b.valueSize, (i + 1) * b.valueSize)));
    }
    out.set(name, rows.sort());
  }
  return out;
}

/** A fresh private bpffs with the scenario restored, and a node on it. */
function restored(t: Test, s: Scenario): { root: string; node: Node } {
  const root = privateBpffs(t);
  const settings = new Settings({ bpffs: root, logger: quiet });
  restoreScenario(s, settings);
  const node = openNode({ settings });
  t.teardown(() => { node.close(); });
  return { root, node };
}

/** What a map should hold: the recorded entries, minus those `gone` says go. */
function expect(s: Scenario, gone: (name: string, e: RecordedEntry) => boolean): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of [...ctNames, ...natNames]) out.set(name, scenarioEntries(s, name).filter((e) => !gone(name, e)).map(row).sort());
  return out;
}

/** The expectation of a GC at `time`: expired CT entries go, with the SNAT entries owned by the expired OUT ones. */
function afterGC(s: Scenario, time: number): { want: Map<string, string[]>; ctGone: number; natGone: number } {
  const owners = new Set<string>();
  let ctGone = 0;
  for (const name of ctNames) {
    for (const e of scenarioEntries(s, name)) {
      if (lifetime(e) >= time) continue;
      ctGone++;
      const { size } = family(e.key.length);
      const dsr = (((e.value[36] ?? 0) | ((e.value[37] ?? 0) << 8)) & 0x80) !== 0;
      // Only plain egress entries own SNAT mappings: tuple flags exactly OUT.
      if (e.key[size - 1] === 0 && !dsr) owners.add(hex(e.key));
    }
  }
  let natGone = 0;
  const want = expect(s, (name, e) => {
    if (ctNames.includes(name)) return lifetime(e) < time;
    const gone = owners.has(ownerOf(e.key, e.value).ct);
    if (gone) natGone++;
    return gone;
  });
  return { want, ctGone, natGone };
}

function same(t: Test, got: Map<string, string[]>, want: Map<string, string[]>, what: string): void {
  for (const [name, rows] of want) {
    const g = got.get(name) ?? [];
    const have = new Set(g);
    const missing = rows.filter((r) => !have.has(r)).length;
    const extra = g.length - (rows.length - missing);
    t.ok(g.length === rows.length && missing === 0, `${what}: ${name} holds exactly the expected ${rows.length} entries (missing ${missing}, extra ${extra})`);
  }
}

t.test('recorded Cilium nodes', async (t) => {
  if (!requirePrivileged(t)) return;
  const scenarios = recordedScenarios(t);
  if (scenarios === undefined) return;
  t.same(scenarios.map((s) => s.name), ['dualstack-node', 'evicted-orphans-v4', 'masq-egress-v4', 'mixed-any-v4', 'nodeport-snat-v4', 'v6-masq-nodeport'], 'all six scenarios');
  for (const s of scenarios) {
    t.test(s.name, async (t) => {
      const time = Math.floor(s.captureS) + 30;
      const all = expect(s, () => false);
      t.test('restore, library dumps, counts, families', async (t) => {
        const { node } = restored(t, s);
        same(t, contents(node), all, 'restored');
        for (const m of s.maps) {
          const map = mapOf(node, m.name);
          const iterated = [...map.entries()].map((r) => hex(r.key.raw) + hex(r.entry.raw)).sort();
          t.same(iterated, all.get(m.name), `${m.name}: iteration gives back every recorded byte`);
          t.equal(map.count(), m.entries, `${m.name}: count() is the recorded ${m.entries}`);
        }
        t.same([node.ipv4, node.ipv6], [true, true], 'both families pinned');
      });
      t.test('ct list and nat list, text and JSON, give back the entries', async (t) => {
        const { root } = restored(t, s);
        const ctLines = run(root, 'ct', 'list');
        t.equal(ctLines.code, 0);
        const wantText: string[] = [];
        for (const name of ctNames) {
          for (const e of scenarioEntries(s, name)) {
            const key = e.key.length === 14 ? new CtKey4Global(e.key) : new CtKey6Global(e.key);
            const line = ctEntryText(key, new CtEntry(e.value));
            if (line !== undefined) wantText.push(line.trimEnd());
          }
        }
        const gotText = ctLines.out.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
        t.same(gotText.slice().sort(), wantText.sort(), 'ct list: each recorded entry\'s line, as the Go formatter prints its bytes');
        t.equal(ctLines.out.split('\n').filter((l) => l === '').length, 4 + 1, 'each of the 4 maps followed by Println\'s newline');
        const ctJson = run(root, 'ct', 'list', '-o', 'json');
        t.equal(ctJson.code, 0);
        const recs = parseCtMapRecords(ctJson.out).map((r) => hex(r.key.toBytes()) + hex(r.value.toBytes())).sort();
        t.same(recs, ctNames.flatMap((n) => all.get(n) ?? []).sort(), 'ct list -o json: every byte of every entry');
        const natJson = run(root, 'nat', 'list', '-o', 'json');
        t.equal(natJson.code, 0);
        const nrecs = parseNatMapRecords(natJson.out).map((r) => hex(r.key.toBytes()) + hex(r.value.toBytes())).sort();
        t.same(nrecs, natNames.flatMap((n) => all.get(n) ?? []).sort(), 'nat list -o json: every byte of every entry');
        const natText = run(root, 'nat', 'list');
        const mask = (l: string): string => l.replace(/Created=-?\d+sec ago/, 'Created=…');
        const wantNat: string[] = [];
        for (const name of natNames) {
          for (const e of scenarioEntries(s, name)) {
            const v4 = e.key.length === 14;
            const line = natLine(v4 ? new NatKey4(e.key) : new NatKey6(e.key), v4 ? new NatEntry4(e.value) : new NatEntry6(e.value), () => '0sec ago');
            if (line !== undefined) wantNat.push(mask(line.trimEnd()));
          }
        }
        t.same(natText.out.split('\n').filter((l) => l !== '').map(mask).sort(), wantNat.sort(), 'nat list: each recorded entry\'s line (Created masked: it counts from now)');
      });
      for (const mode of ['safe', 'fast'] as const) {
        t.test(`GC at capture+30 s, ${mode} mode, library and CLI: exactly the expired entries and the SNAT pairs they own`, async (t) => {
          const { want, ctGone, natGone } = afterGC(s, time);
          t.ok(ctGone > 0, `${ctGone} CT entries expired at ${time} (capture ${s.captureS} s)`);
          {
            const { node } = restored(t, s);
            const r = node.gc({ time, mode });
            t.equal(r.deleted, ctGone, 'library: deleted count');
            t.equal(r.natDeleted, natGone, 'library: NAT entries deleted');
            same(t, contents(node), want, `library ${mode}`);
          }
          {
            const { root, node } = restored(t, s);
            const c = run(root, 'ct', 'gc', '--time', String(time), '--mode', mode);
            t.equal(c.code, 0, c.err);
            same(t, contents(node), want, `CLI ${mode}`);
          }
        });
      }
      t.test('orphan purge, library and CLI: no SNAT entry left without its CT owner, none removed that has one', async (t) => {
        let orphans = 0;
        const ct4 = ctOf(s, true);
        const ct6 = ctOf(s, false);
        const want = expect(s, (name, e) => {
          if (!natNames.includes(name)) return false;
          const gone = !owned(name.includes('v4') ? ct4 : ct6, e);
          if (gone) orphans++;
          return gone;
        });
        t.equal(orphans, s.name === 'evicted-orphans-v4' ? 2 * 2277 : 0, `${orphans} orphan SNAT entries in the recording`);
        {
          const { node } = restored(t, s);
          const stats = node.purgeOrphans();
          t.equal(stats.reduce((n, x) => n + x.egressDeleted + x.ingressDeleted, 0), orphans, 'library: deleted count');
          same(t, contents(node), want, 'library purge');
        }
        {
          const { root, node } = restored(t, s);
          const c = run(root, 'ct', 'gc', '--time', '0', '--purge-orphans');
          t.equal(c.code, 0, c.err);
          same(t, contents(node), want, 'CLI purge (GC at time 0 removes nothing)');
        }
      });
      t.test('flush empties: ct flush takes the CT entries and the SNAT pairs they own; nat flush the rest', async (t) => {
        const { root, node } = restored(t, s);
        const { want } = afterGC(s, 0xffffffff);
        const c = run(root, 'ct', 'flush');
        t.equal(c.code, 0, c.err);
        same(t, contents(node), want, 'after ct flush');
        t.equal(node.ct.count(), 0, 'no CT entry left');
        t.equal(run(root, 'nat', 'flush').code, 0);
        t.equal(node.nat.count(), 0, 'no NAT entry left');
      });
      t.test('openOrCreate with the agent\'s specs opens the recorded maps and never recreates them', async (t) => {
        const { root } = restored(t, s);
        const size = (n: string): number => s.maps.find((m) => m.name === n)?.maxEntries ?? 0;
        const agent = openNode({ bpffs: root, logger: quiet, ctSizes: { tcp: size('cilium_ct4_global'), any: size('cilium_ct_any4_global') }, natEntries: size('cilium_snat_v4_external') });
        t.teardown(() => { agent.close(); });
        const before = contents(agent);
        const outcomes = [...agent.ct.maps(), ...agent.nat.maps()].map((m) => `${m.name}:${m.openOrCreate()}`);
        t.same(outcomes, [...ctNames, ...natNames].map((n) => `${n}:opened`));
        t.same(contents(agent), before, 'not a byte changed');
      });
    });
  }
});

t.test('a manifest the reader does not understand is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctmap-manifest-'));
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }); });
  const base = { scenario: 'x', capture_monotonic_s: 10, clock_source: 'ktime: …', hex_format: 'one line per entry: <key hex> <value hex>',
    maps: [{ name: 'cilium_ct4_global', type: 'lru_hash', key_size: 14, value_size: 56, max_entries: 1024, map_flags: 0, entries: 0, file: 'a.hex' }] };
  const write = (m: unknown): void => { writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m)); };
  const cases: [string, unknown, RegExp][] = [
    ['jiffies clock', { ...base, clock_source: 'jiffies' }, /clock_source/],
    ['another dump format', { ...base, hex_format: 'binary' }, /hex_format/],
    ['a percpu map', { ...base, maps: [{ ...base.maps[0], type: 'percpu_hash' }] }, /map type "percpu_hash"/],
    ['an unknown map field', { ...base, maps: [{ ...base.maps[0], pinning: 'by_name' }] }, /unknown field "pinning"/],
    ['a file outside the folder', { ...base, maps: [{ ...base.maps[0], file: '../x.hex' }] }, /\.hex file in the scenario folder/],
    ['no maps', { ...base, maps: [] }, /non-empty/],
  ];
  for (const [what, m, want] of cases) {
    write(m);
    t.throws(() => readScenario(dir), want, what);
  }
  write(base);
  t.equal(readScenario(dir).maps.length, 1, 'the well-formed manifest reads');
});

t.test('piped into head -1, ct list, nat list and ct gc end quietly; the GC still finishes', async (t) => {
  if (!requirePrivileged(t)) return;
  const scenarios = recordedScenarios(t);
  if (scenarios === undefined) return;
  const s = scenarios.find((x) => x.name === 'dualstack-node');
  if (s === undefined) { t.fail('dualstack-node missing'); return; }
  const tmp = mkdtempSync(join(tmpdir(), 'ctmap-pipe-'));
  t.teardown(() => { rmSync(tmp, { recursive: true, force: true }); });
  const piped = (root: string, args: string[]): { rc: string; err: string; out: string } => {
    const cmd = `${process.execPath} ${cli} --bpffs ${root} ${args.join(' ')} 2>${tmp}/err | head -1 >${tmp}/out; echo \${PIPESTATUS[0]} >${tmp}/rc`;
    spawnSync('bash', ['-c', cmd]);
    const read = (f: string): string => readFileSync(join(tmp, f), 'utf8');
    return { rc: read('rc').trim(), err: read('err'), out: read('out') };
  };
  const { root, node } = restored(t, s);
  for (const args of [['ct', 'list'], ['nat', 'list'], ['ct', 'list', '-o', 'json'], ['nat', 'list', '-o', 'json']]) {
    const r = piped(root, args);
    t.same([r.rc, r.err], ['0', ''], `ctmap ${args.join(' ')} | head -1: exit 0, nothing on stderr`);
    t.ok(r.out.length > 1, `and the first line arrived: ${r.out.slice(0, 40)}…`);
  }
  const { want } = afterGC(s, Math.floor(s.captureS) + 30);
  const g = piped(root, ['ct', 'gc', '--time', String(Math.floor(s.captureS) + 30)]);
  t.same([g.rc, g.err], ['0', ''], 'ctmap ct gc | head -1: exit 0, nothing on stderr');
  t.match(g.out, /^cilium_ct4_global: deleted \d+/, 'the first map\'s line arrived');
  same(t, contents(node), want, 'the pass finished on every map although the reader left after the first line');
});
