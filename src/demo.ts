/**
 * `make demo`: the main job on a fresh machine, as root. Mounts a private
 * bpffs, creates Cilium's CT and NAT maps in it, lets the datapath emulator
 * populate a node (TCP/UDP/ICMP flows with their SNAT pairs, service and DSR
 * entries, some expired, some whose CT entry was evicted behind the NAT
 * map's back), then drives the `ctmap` CLI over it: list, count, a GC pass,
 * the orphan purge, and the counts after. Unmounts at the end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountBpffs, unmountBpffs, Settings } from './index.js';
import { populateDemoNode } from './testing/node.js';
import { readScenario, restoreScenario, type Scenario } from './testing/fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, 'bin', 'ctmap.cjs');
const say = (s = ''): void => { process.stdout.write(`${s}\n`); };

function ctmap(root: string, ...args: string[]): string {
  return execFileSync(process.execPath, [cli, '--bpffs', root, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

function show(root: string, args: string[], maxLines = Infinity): void {
  say(`$ ctmap ${args.join(' ')}`);
  const lines = ctmap(root, ...args).split('\n').filter((l) => l !== '');
  for (const l of lines.slice(0, maxLines)) say(`  ${l}`);
  if (lines.length > maxLines) say(`  … (${lines.length - maxLines} more lines)`);
}

/** `--node cilium-datapath/<scenario>`: a recorded node, found as given or under ../shared/fixtures next to the repository. */
function recordedNode(argv: readonly string[]): Scenario | undefined {
  const i = argv.indexOf('--node');
  if (i < 0) return undefined;
  const arg = argv[i + 1];
  if (arg === undefined || arg === '') throw new Error('--node needs a recorded node, e.g. --node cilium-datapath/evicted-orphans-v4');
  const candidates = [resolve(arg), resolve(here, '..', '..', 'shared', 'fixtures', arg)];
  const dir = candidates.find((d) => existsSync(join(d, 'manifest.json')));
  if (dir === undefined) throw new Error(`no recorded node at ${candidates.join(' or ')}`);
  return readScenario(dir);
}

/** The CLI story on a node Cilium's own datapath wrote, restored byte for byte. */
function recorded(root: string, s: Scenario): void {
  const started = Date.now();
  restoreScenario(s, new Settings({ bpffs: root }));
  const time = String(Math.floor(s.captureS) + 30);
  const entries = s.maps.reduce((n, m) => n + m.entries, 0);
  say(`1. A private bpffs at ${root}; Cilium's maps pin under ${root}/tc/globals/.`);
  say(`2. Restored the recorded node ${s.name}: ${entries} CT and SNAT entries written by Cilium's own datapath`);
  say(`   (${s.ciliumCommit.split(' (')[0] ?? ''}), byte for byte, in ${Date.now() - started} ms. They were captured at ${s.captureS.toFixed(1)} s on that`);
  say(`   machine's CT clock; this story judges them 30 s later (--time ${time}).`);
  say();
  show(root, ['ct', 'list'], 6);
  say();
  show(root, ['ct', 'count']);
  show(root, ['nat', 'list'], 3);
  say();
  say('3. One GC pass at capture+30 s (safe mode); the SNAT pairs of removed egress entries go in the same pass:');
  show(root, ['ct', 'gc', '--time', time]);
  say();
  say('4. The orphan purge: SNAT entries whose CT entry is gone (LRU eviction left some in evicted-orphans-v4):');
  show(root, ['ct', 'gc', '--time', time, '--purge-orphans']);
  say();
  say('5. After:');
  show(root, ['ct', 'count']);
  const natLines = ctmap(root, 'nat', 'list').split('\n').filter((l) => l !== '').length;
  say(`  NAT entries left: ${natLines}`);
}

function main(): void {
  if (process.getuid?.() !== 0) {
    process.stderr.write('make demo needs root: it mounts a private bpffs and creates BPF maps\n');
    process.exitCode = 1;
    return;
  }
  const scenario = recordedNode(process.argv.slice(2));
  const root = mkdtempSync(join(tmpdir(), 'ctmap-demo-'));
  mountBpffs(root);
  try {
    if (scenario !== undefined) {
      recorded(root, scenario);
      return;
    }
    say(`1. A private bpffs at ${root}; Cilium's maps pin under ${root}/tc/globals/.`);
    const started = Date.now();
    const node = populateDemoNode({ bpffs: root });
    const { now, evicted } = node;
    node.close();
    // On a machine that booted moments ago the emulator runs a later CT clock; GC is then told the time.
    const at = node.realClock ? [] : ['--time', String(now)];
    say(`2. The datapath emulator wrote ${node.connections} connections in ${Date.now() - started} ms (CT clock ${now} s${node.realClock ? '' : ', ahead of this young machine\'s'}): TCP, UDP/DNS and ICMP`);
    say(`   flows masqueraded to the node with their SNAT/RevSNAT pairs, service and ingress entries, DSR backends, IPv6;`);
    say(`   some closed long ago (expired), and ${evicted} whose CT entry was evicted behind the NAT map's back (orphans).`);
    say();
    show(root, ['ct', 'list'], 6);
    say();
    show(root, ['ct', 'count']);
    if (node.realClock) show(root, ['nat', 'list'], 3);
    say();
    say('3. One GC pass (safe mode: each doomed entry is re-read right before it is deleted); the NAT pairs of');
    say('   removed egress entries go in the same pass:');
    show(root, ['ct', 'gc', ...at]);
    say();
    say('4. The orphan purge (what a NAT fill-up signal triggers): NAT entries whose CT entry is gone:');
    show(root, ['ct', 'gc', ...at, '--purge-orphans']);
    say();
    say('5. After:');
    show(root, ['ct', 'count']);
    const natLines = ctmap(root, 'nat', 'list').split('\n').filter((l) => l !== '').length;
    say(`  NAT entries left: ${natLines}`);
  } finally {
    unmountBpffs(root);
    rmSync(root, { recursive: true, force: true });
    say(`6. Unmounted ${root}.`);
  }
}

main();
