// Run with capabilities dropped: try what a node without CAP_BPF would, report each error.
import { setMapRoot, newMap, setCTMapConfig } from '../../dist/index.js';

const [root] = process.argv.slice(2);
setMapRoot(root);
setCTMapConfig({ ctMapEntriesGlobalTCP: 1024, ctMapEntriesGlobalAny: 1024 });
const out = {};
for (const [name, fn] of [
  ['openOrCreate', () => newMap('cilium_ct4_global', 0).openOrCreate()],
  ['open', () => newMap('cilium_ct_any4_global', 2).open()],
]) {
  try { fn(); out[name] = { ok: true }; } catch (err) { out[name] = { ok: false, code: err.code ?? err.cause?.code, message: err.message }; }
}
process.stdout.write(JSON.stringify(out));
