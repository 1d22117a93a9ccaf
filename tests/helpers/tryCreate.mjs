// Run in a child with capabilities dropped: try to create a map and report the error.
import { BpfMap, MapType } from '../../dist/syscall/index.js';
try {
  BpfMap.create({ name: 'noperm', type: MapType.LRUHash, keySize: 4, valueSize: 4, maxEntries: 16 }).close();
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, code: err.code, errno: err.errno, command: err.command, message: err.message }));
}
