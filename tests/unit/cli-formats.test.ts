// The CLI's pure parts: yaml.v3's layout, JSONPath templates, -o parsing, flows typed as `ct list` prints them,
// the filter flags, durations and listen addresses. Each bad input has a clear error.
import t from 'tap';
import { marshalYAML, yamlSequenceItem, yamlString } from '../../src/cli/yaml.js';
import { JsonPathTemplate, JsonPathError } from '../../src/cli/jsonpath.js';
import { listSink, parseOutput, writeValue } from '../../src/cli/format.js';
import { SyncWriter } from '../../src/cli/output.js';
import { flowFilter, flowText, parseFlow, printedKey, printedKeys } from '../../src/cli/flow.js';
import { constrains, filterFromFlags, parseCTTime, parseClusterFlag } from '../../src/cli/flags.js';
import { parseDuration } from '../../src/cli/watch.js';
import { parseListen } from '../../src/cli/exporter.js';
import { parsePortRange } from '../../src/cli/stats.js';
import { CliError } from '../../src/cli/errors.js';
import { CtMapRecord, NatMapRecord, CtKey4Global, CtKey6Global, CtEntry, NatKey4, NatEntry4, marshalIndent } from '../../src/structs/index.js';
import { compileFilter } from '../../src/structs/filter.js';
import type { JsonValue } from '../../src/structs/json.js';

t.test('yaml.v3 layout: 4-space indent, sequences in mappings indented, a sequence item\'s mapping on the dash\'s line', async (t) => {
  t.equal(marshalYAML({ a: 1, b: [1, 2], c: { d: 'x', e: [] }, f: {} }), 'a: 1\nb:\n    - 1\n    - 2\nc:\n    d: x\n    e: []\nf: {}\n');
  t.equal(marshalYAML([{ a: 1, b: { c: [3] } }, 'x']), '- a: 1\n  b:\n    c:\n        - 3\n- x\n');
  t.equal(marshalYAML([[1, 2], [3]]), '- - 1\n  - 2\n- - 3\n');
  t.equal(marshalYAML([]), '[]\n');
  t.equal(marshalYAML(2n ** 64n - 1n), '18446744073709551615\n', 'u64 stays exact');
  t.equal(yamlSequenceItem({ k: true, n: null }), '- k: true\n  "n": null\n', 'YAML 1.1 booleans are quoted, keys too');
  // Strings: plain unless they would read back as something else, or libyaml refuses them plain.
  const cases: [string, string][] = [
    ['TCP', 'TCP'], ['10.0.0.1:80', '10.0.0.1:80'], ['fd00::1', 'fd00::1'], ['[fd00::1]:80', "'[fd00::1]:80'"],
    ['123', '"123"'], ['0x1a', '"0x1a"'], ['1.5', '"1.5"'], ['true', '"true"'], ['yes', '"yes"'], ['null', '"null"'], ['~', '"~"'],
    ['', '""'], [' lead', "' lead'"], ['a: b', "'a: b'"], ['x #y', "'x #y'"], ['- x', "'- x'"], ['-x', '-x'], ["it's: x", "'it''s: x'"],
    ['line\nbreak', '"line\\nbreak"'], ['*star', "'*star'"], ['end:', "'end:'"],
  ];
  for (const [s, want] of cases) t.equal(yamlString(s), want, JSON.stringify(s));
});

t.test('records in yaml.v3: lowercased field names, embedded tuple structs nested (encoding/json flattens them)', async (t) => {
  const key = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP', dir: 'OUT' });
  const rec = new CtMapRecord(key, new CtEntry({ lifetime: 12345, flags: 0x10, packets: 2n ** 60n }));
  const y = marshalYAML(rec.toGoYAML());
  t.ok(y.startsWith('key:\n    tuplekey4global:\n        tuplekey4:\n            destaddr:\n                - 10\n                - 0\n                - 0\n                - 1\n'), y);
  t.match(y, /\n {12}destport: 20480\n {12}sourceport: 16540\n {12}nextheader: 6\n {12}flags: 0\nvalue:\n {4}union0:\n {8}- 0\n {8}- 0\n {4}packets: 1152921504606846976\n/);
  t.match(y, /\n {4}lifetime: 12345\n {4}flags: 16\n {4}revnat: 0\n {4}natport: 0\n {4}txflagsseen: 0\n {4}rxflagsseen: 0\n {4}sourcesecurityid: 0\n {4}lasttxreport: 0\n {4}lastrxreport: 0\n$/);
  const v6 = new CtMapRecord(CtKey6Global.fromFlow({ src: '[fd00::1]:1', dst: '[fd00::2]:2', proto: 'UDP' }), new CtEntry());
  t.match(marshalYAML(v6.toGoYAML()), /^key:\n {4}tuplekey6global:\n {8}tuplekey6:\n {12}destaddr:\n( {16}- \d+\n){16} {12}sourceaddr:/);
  const nat = new NatMapRecord(new NatKey4(new Uint8Array(14)), new NatEntry4({ created: 7n, addr: '192.0.2.1', port: 0x5000 }));
  t.match(marshalYAML(nat.toGoYAML()), /value:\n {4}created: 7\n {4}needsct: 0\n {4}pad1: 0\n {4}pad2: 0\n {4}addr:\n {8}- 192\n {8}- 0\n {8}- 2\n {8}- 1\n {4}port: 20480\n$/);
});

t.test('JSONPath templates: fields, wildcards, indexes, slices, filters, recursion, range', async (t) => {
  const data: JsonValue = { items: [{ name: 'a', n: 1, tags: ['x', 'y'] }, { name: 'b', n: 2, tags: [] }, { name: 'c', n: 3, big: 2n ** 64n - 1n }], 'odd-key': 5 };
  const run = (tpl: string, v: JsonValue = data): string => new JsonPathTemplate(tpl).execute(v);
  t.equal(run('{.items[0].name}'), 'a');
  t.equal(run('{.items[*].name}'), 'a b c', 'several results joined by a space');
  t.equal(run('{.items[-1].name}'), 'c');
  t.equal(run('{.items[0,2].n}'), '1 3');
  t.equal(run('{.items[1:].name}'), 'b c');
  t.equal(run('{.items[::2].name}'), 'a c');
  t.equal(run('{.items[::-1].name}'), 'c b a');
  t.equal(run('{.items[?(@.n > 1)].name}'), 'b c');
  t.equal(run("{.items[?(@.name == 'b')].n}"), '2');
  t.equal(run('{.items[?(@.big)].name}'), 'c', 'existence filter');
  t.equal(run('{..name}'), 'a b c', 'recursive descent');
  t.equal(run("{['odd-key']}"), '5');
  t.equal(run('{$.items[2].big}'), '18446744073709551615');
  t.equal(run('{.items[0].tags}'), '["x","y"]', 'composite values print as compact JSON');
  t.equal(run('{.items[9].name}{.nope}'), '', 'missing keys print nothing');
  t.equal(run('n={range .items[*]}{.name}:{.n}{"\\n"}{end}'), 'n=a:1\nb:2\nc:3\n');
  t.equal(run('{[*].Key}', [{ Key: 1 }, { Key: 2 }]), '1 2', 'a top-level array');
  t.equal(run('plain'), 'plain');
  for (const bad of ['{', '{range .items[*]}', '{end}', '{.items[}', '{.items[1:2:0]}', '{.items[?(@.n ~ 1)]}', '{.a[x]}', '{}', '{.items[?(@.n == nope)]}']) {
    t.throws(() => new JsonPathTemplate(bad), JsonPathError, bad);
  }
});

t.test('-o parsing and the list sinks: json streams MarshalIndent, yaml a sequence, jsonpath runs at the end', async (t) => {
  t.same(parseOutput(undefined), { kind: 'text' });
  t.same(parseOutput('json'), { kind: 'json' });
  t.equal(parseOutput('jsonpath={.a}').kind, 'jsonpath');
  t.throws(() => parseOutput('xml'), /unsupported output format "xml" \(use one of: json, yaml, jsonpath=<template>\)/);
  t.throws(() => parseOutput('yaml', ['json']), /unsupported output format "yaml" \(use -o json\)/);
  t.throws(() => parseOutput('jsonpath={.a'), /invalid jsonpath template "\{\.a": unclosed action/);
  const written: string[] = [];
  const out = { write: (s: string) => { written.push(s); }, closed: false, flush: () => undefined } as unknown as SyncWriter;
  const rec = new CtMapRecord(new CtKey4Global(new Uint8Array(14)), new CtEntry({ lifetime: 9 }));
  let s = listSink(parseOutput('json'), out);
  s.add(rec);
  s.end();
  t.equal(written.join(''), `[\n  ${marshalIndent(rec, '  ', '  ')}\n]\n\n`);
  written.length = 0;
  s = listSink(parseOutput('yaml'), out);
  s.end();
  t.equal(written.join(''), '[]\n\n', 'an empty list, then Println\'s newline');
  written.length = 0;
  s = listSink(parseOutput('yaml'), out);
  s.add(rec);
  s.add({ plain: 1 });
  s.end();
  t.equal(written.join(''), `${yamlSequenceItem(rec.toGoYAML())}- plain: 1\n\n`);
  written.length = 0;
  s = listSink(parseOutput('jsonpath={[*].Value.Lifetime}'), out);
  s.add(rec);
  s.add(rec);
  s.end();
  t.equal(written.join(''), '9 9\n');
  t.throws(() => listSink(parseOutput(undefined), out), /text output has no list sink/);
  written.length = 0;
  writeValue(parseOutput('yaml'), out, { a: [1] }, (v) => marshalIndent(v));
  writeValue(parseOutput('json'), out, { a: 1 }, (v) => marshalIndent(v));
  writeValue(parseOutput('jsonpath={.a}'), out, { a: 1 }, (v) => marshalIndent(v));
  t.equal(written.join(''), 'a:\n    - 1\n\n{\n  "a": 1\n}\n\n1\n');
});

t.test('flows as ct list prints them: parsed, turned into the exact key, refused when malformed', async (t) => {
  const f = parseFlow(['TCP', 'OUT', '10.0.0.1:40000', '->', '10.0.0.2:80']);
  t.same(f, { family: 4, proto: 6, dir: 'OUT', src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, related: false });
  t.equal(parseFlow([]), undefined);
  const v6 = parseFlow(['udp', 'fd00::1:50000', '[fd00::2]:53', 'related']);
  t.same(v6, { family: 6, proto: 17, dir: undefined, src: 'fd00::1', sport: 50000, dst: 'fd00::2', dport: 53, related: true }, 'unbracketed IPv6 as ct list prints it; brackets too');
  t.equal(parseFlow(['17', 'in', '1.2.3.4:5', '6.7.8.9:10'])?.dir, 'IN');
  if (f === undefined || v6 === undefined) return;
  t.equal(flowText(f), 'TCP OUT 10.0.0.1:40000 -> 10.0.0.2:80');
  t.equal(flowText(v6, 'IN'), 'UDP IN fd00::1:50000 -> fd00::2:53 related');
  // The key that prints as the flow; for the datapath's entries it is the key fromFlow derives.
  const lib = (dir: 'OUT' | 'IN' | 'SVC'): CtKey4Global => CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP', dir });
  for (const dir of ['OUT', 'IN', 'SVC'] as const) {
    const key = printedKey(f, dir);
    t.equal(key.toHost().dump(true), `TCP ${dir} 10.0.0.1:40000 -> 10.0.0.2:80 `, `${dir}: prints back as the flow`);
    t.same(key.raw, lib(dir).raw, `${dir}: the key fromFlow derives`);
  }
  const icmp = parseFlow(['ICMP', 'OUT', '10.0.0.1:0', '->', '10.0.0.2:0', 'related']);
  if (icmp === undefined) return;
  t.same(printedKey(icmp, 'OUT').raw, CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP', related: true }).raw, 'a related line is the datapath\'s related entry');
  t.equal(printedKey(v6, 'SVC').toHost().dump(true), 'UDP SVC fd00::1:50000 -> fd00::2:53 related ', 'any printed line, even one the datapath never writes');
  const svcKeys = printedKeys(f, 'SVC');
  t.same(svcKeys.map((k) => k.flags), [4, 5], 'SVC prints with or without the IN bit: both keys');
  t.ok(svcKeys.every((k) => k.toHost().dump(true) === 'TCP SVC 10.0.0.1:40000 -> 10.0.0.2:80 '));
  t.equal(printedKeys(f, 'OUT').length, 1);
  // The flow's filter matches exactly that printed flow, in any direction unless one is given.
  const m = compileFilter(flowFilter(f), 'ct', 4);
  const zero = new Uint8Array(56);
  t.equal(m(lib('OUT').raw, 0, zero, 0), true);
  t.equal(m(lib('IN').raw, 0, zero, 0), false, 'OUT given: IN does not match');
  const any = compileFilter(flowFilter({ ...f, dir: undefined }), 'ct', 4);
  t.equal(any(lib('IN').raw, 0, zero, 0), true);
  t.equal(any(printedKey({ ...f, sport: 40001 }, 'OUT').raw, 0, zero, 0), false);
  t.equal(any(printedKey({ ...f, related: true }, 'OUT').raw, 0, zero, 0), false, 'not the related entry of the same flow');
  t.equal(compileFilter(flowFilter(icmp), 'ct', 4)(printedKey(icmp, 'OUT').raw, 0, zero, 0), true);
  const bad: [string[], RegExp][] = [
    [['tcpx', '1.2.3.4:1', '5.6.7.8:2'], /invalid protocol "tcpx"/], [['tcp', '1.2.3.4:1'], /invalid flow "tcp 1.2.3.4:1"/],
    [['tcp', '1.2.3.4', '5.6.7.8:2'], /invalid source "1.2.3.4": want addr:port/], [['tcp', '1.2.3.4:70000', '5.6.7.8:2'], /port 70000 is out of range/],
    [['tcp', '1.2.3.999:1', '5.6.7.8:2'], /invalid source "1.2.3.999:1"/], [['tcp', '1.2.3.4:1', 'fd00::1:2'], /different families/],
    [['tcp', '1.2.3.4:1', '5.6.7.8:2', 'extra'], /invalid flow/], [['tcp', '[fd00::1]', '[fd00::2]:1'], /want \[addr\]:port/],
  ];
  for (const [tokens, re] of bad) t.throws(() => parseFlow(tokens), re, tokens.join(' '));
  t.throws(() => parseFlow(['x', '1.2.3.4:1', '5.6.7.8:2']), CliError);
});

t.test('filter flags: the library filter they describe, errors named by flag', async (t) => {
  const now = (): number => 500;
  t.equal(filterFromFlags({}, 'ct', now), undefined);
  const f = filterFromFlags({ src: '10.0.0.0/8', sport: '80', dport: '443', proto: 'TCP', dir: 'out', flags: 'SeenNonSyn', expired: true, limit: '3' }, 'ct', now);
  t.same(f?.source, { src: '10.0.0.0/8', sport: 80, dport: 443, proto: 'TCP', dir: 'OUT', flags: 'SeenNonSyn', expiredAt: 500, limit: 3 });
  t.equal(filterFromFlags({ alive: true, time: '77' }, 'ct', now)?.aliveAt, 77, '--time sets when --alive judges');
  t.equal(filterFromFlags({ proto: '17' }, 'nat', now)?.proto, 17);
  t.equal(filterFromFlags({ flags: 'NodePort', expired: true }, 'nat', now), undefined, 'CT-only flags do not reach a NAT filter');
  t.equal(constrains(filterFromFlags({ limit: '5' }, 'ct', now)), false, 'a limit alone constrains nothing');
  t.equal(constrains(filterFromFlags({ related: true }, 'ct', now)), true);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ expired: true, alive: true }, /--expired and --alive exclude each other/], [{ sport: 'http' }, /invalid --sport "http"/],
    [{ dport: '65536' }, /invalid --dport "65536"/], [{ limit: '0' }, /invalid --limit "0"/], [{ limit: '-1' }, /invalid --limit/],
    [{ time: 'soon', alive: true }, /invalid --time "soon"/], [{ src: '10.0.0.1/40' }, /invalid filter: --src/],
    [{ flags: 'Bogus' }, /invalid filter: --flags: unknown CT flag "Bogus"/], [{ proto: 'nope' }, /invalid filter: --proto: unknown protocol/],
  ];
  for (const [flags, re] of bad) t.throws(() => filterFromFlags(flags, 'ct', now), re, JSON.stringify(flags));
  t.equal(parseCTTime('4294967295'), 4294967295);
  t.throws(() => parseCTTime('4294967296'), /invalid --time/);
  t.equal(parseClusterFlag(undefined), undefined);
  t.equal(parseClusterFlag('7'), 7);
  t.throws(() => parseClusterFlag('x'), /invalid --cluster "x"/);
});

t.test('durations, listen addresses and port ranges', async (t) => {
  t.equal(parseDuration('500ms', '--interval'), 500);
  t.equal(parseDuration('2', '--interval'), 2000);
  t.equal(parseDuration('1.5s', '--interval'), 1500);
  t.equal(parseDuration('1m', '--interval'), 60000);
  for (const bad of ['0', '5ms', '2d', 'soon', '-1s', '25h']) t.throws(() => parseDuration(bad, '--interval'), /invalid --interval/, bad);
  t.same(parseListen('127.0.0.1:9964'), { host: '127.0.0.1', port: 9964 });
  t.same(parseListen('[::1]:0'), { host: '::1', port: 0 });
  for (const bad of ['9964', 'host', ':80', '1.2.3.4:70000']) t.throws(() => parseListen(bad), /invalid --listen/, bad);
  t.same(parsePortRange(undefined), { min: 32768, max: 65535 });
  t.same(parsePortRange('1024-2047'), { min: 1024, max: 2047 });
  for (const bad of ['2-1', '1-70000', 'x', '1024']) t.throws(() => parsePortRange(bad), /invalid --port-range/, bad);
});
