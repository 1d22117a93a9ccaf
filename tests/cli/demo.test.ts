// `make demo` end to end: it must run on a fresh machine as root, show each step, and leave no mount behind.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requirePrivileged } from '../helpers/priv.js';

const here = dirname(fileURLToPath(import.meta.url));

t.test('the demo populates a node, lists, counts, collects, purges and unmounts', async (t) => {
  if (!requirePrivileged(t)) return;
  const r = spawnSync(process.execPath, [resolve(here, '..', '..', 'dist', 'demo.js')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  const root = /A private bpffs at (\S+);/.exec(out)?.[1] ?? '';
  t.ok(root !== '', 'names its bpffs');
  t.match(out, /wrote 7000 connections/);
  t.match(out, /\$ ctmap ct list\n {2}(TCP|UDP|ICMP)/, 'shows the first lines of ct list');
  t.match(out, /\$ ctmap ct gc.*\n {2}cilium_ct4_global: deleted [1-9]\d*, alive \d+/, 'the GC pass deleted entries');
  t.match(out, /cilium_snat_v4_external: orphans deleted [1-9]\d* egress \/ [1-9]\d* ingress/, 'the purge removed orphans');
  t.match(out, /Unmounted /);
  t.notOk(readFileSync('/proc/self/mounts', 'utf8').includes(root), 'the private bpffs is unmounted');
  t.notOk(existsSync(root), 'and removed');
});
