/**
 * `make repl`: a Node REPL with the library in scope (also as `ctmap`). As
 * root it mounts a private bpffs and opens a populated demo node there, so
 * `node` is a live node handle to poke at; the bpffs goes when the REPL exits.
 */
import { start } from 'node:repl';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ctmap from './index.js';
import * as compat from './compat/index.js';
import { populateDemoNode } from './testing/node.js';

const say = (s: string): void => { process.stdout.write(`${s}\n`); };
const context: Record<string, unknown> = { ...ctmap, ctmap, compat };
let cleanup = (): void => undefined;

if (process.getuid?.() === 0) {
  const root = mkdtempSync(join(tmpdir(), 'ctmap-repl-'));
  ctmap.mountBpffs(root);
  const demo = populateDemoNode({ bpffs: root });
  Object.assign(context, { root, node: demo.node, demo, emu: demo.emu });
  cleanup = () => {
    demo.close();
    ctmap.unmountBpffs(root);
    rmSync(root, { recursive: true, force: true });
  };
  say(`ctmap REPL: \`node\` is a node handle on a demo node pinned under ${root} (${demo.connections} connections).`);
  say('Try:');
  say('  node.count()');
  say('  [...node.ct.tcp4.entries({ filter: { dport: 443, limit: 3 } })]');
  say('  for (const { key, entry } of node.ct.any4) { console.log(key, entry); break }');
  say("  node.gc({ mode: 'fast' })            // every CT map, with the NAT follow-up");
  say('  await node.gcAsync({ purgeOrphans: true })');
  say('The rest of the library is in scope (also as `ctmap`); Go\'s names are in `compat`.');
} else {
  say('ctmap REPL (not root: no maps); the library is in scope, also as `ctmap`. Try:');
  say("  CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP' })");
}

const server = start({ prompt: 'ctmap> ' });
Object.assign(server.context, context);
server.on('exit', () => {
  cleanup();
  process.exit(0);
});
