/**
 * `make repl`: a Node REPL with ctmap loaded as `ctmap` (and its names in
 * scope). Keys, entries and maps print readably.
 */
import { start } from 'node:repl';
import * as ctmap from './index.js';

process.stdout.write('ctmap REPL: the library is `ctmap`; try CtKey4Global.fromFlow({ src: \'10.0.0.1:40000\', dst: \'10.0.0.2:80\', proto: \'TCP\' })\n');
const server = start({ prompt: 'ctmap> ' });
Object.assign(server.context, ctmap, { ctmap });
