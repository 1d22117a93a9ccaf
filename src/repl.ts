/**
 * `make repl`: a Node REPL with the library in scope (also as `ctmap`). As
 * root it also mounts a private bpffs with a populated demo node, so `tcp4`,
 * `any4`, `nat4`, … are real maps to poke at; the bpffs goes when the REPL
 * exits.
 */
import { start } from 'node:repl';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ctmap from './index.js';
import { populateDemoNode } from './testing/node.js';

const say = (s: string): void => { process.stdout.write(`${s}\n`); };
const context: Record<string, unknown> = { ...ctmap, ctmap };
let cleanup = (): void => undefined;

if (process.getuid?.() === 0) {
  const root = mkdtempSync(join(tmpdir(), 'ctmap-repl-'));
  ctmap.mountBpffs(root);
  ctmap.setMapRoot(root);
  const node = populateDemoNode();
  Object.assign(context, { root, node, emu: node.emu, tcp4: node.tcp4, any4: node.any4, tcp6: node.tcp6, any6: node.any6, nat4: node.nat4, nat6: node.nat6 });
  cleanup = () => {
    node.close();
    ctmap.unmountBpffs(root);
    rmSync(root, { recursive: true, force: true });
  };
  say(`ctmap REPL: a demo node is pinned under ${root} (${node.connections} connections).`);
  say('In scope: tcp4, any4, tcp6, any6, nat4, nat6, emu, node, and the whole library (also as `ctmap`). Try:');
  say('  tcp4.count()   tcp4.dumpEntriesWithTimeDiff().split("\\n")[0]   gcWithFilter(any4, new GCFilter({ removeExpired: true, time: node.now }))');
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
