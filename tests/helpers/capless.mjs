// Run with capabilities dropped: try what a node without CAP_BPF would, report each error.
import { openNode } from '../../dist/index.js';

const [root] = process.argv.slice(2);
const node = openNode({ bpffs: root, ctSizes: { tcp: 1024, any: 1024 }, ipv4: true, ipv6: false });
const out = {};
for (const [name, fn] of [
  ['openOrCreate', () => node.ct.tcp4.openOrCreate()],
  ['open', () => node.ct.any4.open()],
]) {
  try { fn(); out[name] = { ok: true }; } catch (err) { out[name] = { ok: false, code: err.code ?? err.cause?.code, message: err.message }; }
}
process.stdout.write(JSON.stringify(out));
