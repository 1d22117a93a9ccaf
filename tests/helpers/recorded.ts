/**
 * The recorded Cilium nodes (../shared/fixtures/cilium-datapath, or $CTMAP_FIXTURES) and an ownership oracle for
 * their SNAT entries, written here from the spec (nat-datapath.md §3.4, §7, §8.3) on purpose independently of
 * src/nat/keys.ts, so a test compares the library with a second reading of the rules, not with itself.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { listScenarios, scenarioEntries, type RecordedEntry, type Scenario } from '../../src/testing/fixtures.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixturesRoot = process.env.CTMAP_FIXTURES ?? resolve(repo, '..', 'shared', 'fixtures', 'cilium-datapath');

/** The scenarios, or undefined after failing (CI) or skipping (elsewhere) when the folder is missing. */
export function recordedScenarios(t: Test): Scenario[] | undefined {
  if (existsSync(fixturesRoot)) return listScenarios(fixturesRoot);
  const why = `the recorded Cilium nodes are missing: ${fixturesRoot} (set CTMAP_FIXTURES)`;
  if (process.env.CI === 'true') t.fail(why);
  else t.plan(0, why);
  return undefined;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const row = (e: RecordedEntry): string => hex(e.key) + hex(e.value);

/** Address length and tuple size of a family. */
export function family(keySize: number): { a: number; size: number } {
  return keySize === 14 ? { a: 4, size: 14 } : { a: 16, size: 38 };
}

/**
 * The CT key (hex) owning a NAT entry, by the spec's rules:
 * - egress (key flags without IN): the NAT key with its two addresses swapped, ports and protocol kept, flags OUT;
 *   a DSR backend's entry may own it instead: the key with its ports swapped (`dsr`);
 * - ingress (RevSNAT, flags IN): daddr = value.addr, saddr = key.saddr, sport = value.port, dport = key.sport,
 *   protocol kept, flags OUT — the original tuple held in the value.
 */
export function ownerOf(key: Uint8Array, value: Uint8Array): { ct: string; dsr: string | undefined } {
  const { a, size } = family(key.length);
  const daddr = 0;
  const saddr = a;
  const dport = 2 * a;
  const sport = 2 * a + 2;
  const proto = 2 * a + 4;
  const o = new Uint8Array(size);
  const inbound = ((key[size - 1] ?? 0) & 1) !== 0;
  if (!inbound) {
    o.set(key.subarray(saddr, saddr + a), daddr);
    o.set(key.subarray(daddr, daddr + a), saddr);
    o.set(key.subarray(dport, dport + 4), dport);
    o[proto] = key[proto] ?? 0;
    const d = new Uint8Array(size);
    d.set(key.subarray(0, 2 * a), 0);
    d.set(key.subarray(sport, sport + 2), dport);
    d.set(key.subarray(dport, dport + 2), sport);
    d[proto] = key[proto] ?? 0;
    return { ct: hex(o), dsr: hex(d) };
  }
  // NAT values: 32 bytes of header, then the address, then the port.
  o.set(value.subarray(32, 32 + a), daddr);
  o.set(key.subarray(saddr, saddr + a), saddr);
  o.set(value.subarray(32 + a, 32 + a + 2), sport);
  o.set(key.subarray(sport, sport + 2), dport);
  o[proto] = key[proto] ?? 0;
  return { ct: hex(o), dsr: undefined };
}

/** The CT entries of a scenario by family: key hex → entry (both CT maps of the family together). */
export function ctOf(s: Scenario, v4: boolean): Map<string, RecordedEntry> {
  const out = new Map<string, RecordedEntry>();
  for (const name of v4 ? ['cilium_ct4_global', 'cilium_ct_any4_global'] : ['cilium_ct6_global', 'cilium_ct_any6_global']) {
    for (const e of scenarioEntries(s, name)) out.set(hex(e.key), e);
  }
  return out;
}

export function natOf(s: Scenario, v4: boolean): RecordedEntry[] {
  return scenarioEntries(s, v4 ? 'cilium_snat_v4_external' : 'cilium_snat_v6_external');
}

const DSRInternal = 1 << 7;

/** Whether the CT entries `ct` own the NAT entry (its CT entry exists; a DSR owner must carry DSRInternal). */
export function owned(ct: ReadonlyMap<string, RecordedEntry>, n: RecordedEntry): boolean {
  const { ct: owner, dsr } = ownerOf(n.key, n.value);
  if (ct.has(owner)) return true;
  if (dsr === undefined) return false;
  const e = ct.get(dsr);
  return e !== undefined && (((e.value[36] ?? 0) | ((e.value[37] ?? 0) << 8)) & DSRInternal) !== 0;
}

/** An entry's CT lifetime (u32 at offset 32 of ct_entry). */
export function lifetime(e: RecordedEntry): number {
  return new DataView(e.value.buffer, e.value.byteOffset).getUint32(32, true);
}
