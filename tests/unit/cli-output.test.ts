// The CLI's output helpers: progress only on a terminal and only after a second; the streaming JSON array.
import t from 'tap';
import { Progress, JsonArrayWriter, SyncWriter } from '../../src/cli/output.js';
import { marshalIndent } from '../../src/structs/index.js';

t.test('progress: nothing for the first second or on a pipe, then done/total at most 5 times a second', async (t) => {
  const realNow = Date.now;
  const realWrite = process.stderr.write.bind(process.stderr);
  let now = 1_000_000;
  const written: string[] = [];
  Date.now = () => now;
  process.stderr.write = ((s: string) => { written.push(s); return true; });
  t.teardown(() => { Date.now = realNow; process.stderr.write = realWrite; });
  const tty = new Progress('ct list', 1000, true);
  tty.update(10);
  t.same(written, [], 'nothing during the first second');
  now += 1500;
  tty.update(500);
  now += 100;
  tty.update(600);
  now += 150;
  tty.update(700);
  tty.done();
  t.same(written, ['\rct list: 500/1000 entries', '\rct list: 700/1000 entries', '\r\x1b[K'], 'throttled, then cleared');
  written.length = 0;
  const pipe = new Progress('ct list', undefined, false);
  t.equal(pipe.enabled, false);
  now += 5000;
  pipe.update(1);
  pipe.done();
  t.same(written, [], 'never on a pipe');
  const noTotal = new Progress('gc', undefined, true);
  now += 2000;
  noTotal.update(3);
  t.same(written, ['\rgc: 3 entries']);
});

t.test('the JSON array writer streams Go\'s MarshalIndent of the whole array', async (t) => {
  const chunks: string[] = [];
  const out = new SyncWriter(1, 16);
  // Capture through the writer's file descriptor is not possible here; check the text it builds instead.
  const w = out as unknown as { write(s: string): void; flush(): void };
  w.write = (s: string) => { chunks.push(s); };
  const arr = new JsonArrayWriter(out);
  const items = [{ A: 1, B: [1, 2] }, { A: 2, B: [] }];
  for (const i of items) arr.add(i);
  arr.end();
  t.equal(chunks.join(''), `${marshalIndent(items)}\n\n`);
  const empty: string[] = [];
  const out2 = new SyncWriter(1, 16);
  (out2 as unknown as { write(s: string): void }).write = (s: string) => { empty.push(s); };
  new JsonArrayWriter(out2).end();
  t.equal(empty.join(''), '[]\n\n');
});
