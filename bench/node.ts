/**
 * The benchmark's synthetic node, byte for byte what bench/cbench.c's
 * make_entry writes: entry i is an egress TCP flow S:s → D:443 with its SNAT
 * pair to 192.0.2.1:x; even entries are expired (lifetime 100), odd ones
 * alive (lifetime 2,000,000); GC runs at time 1000.
 */
export const KEY = 14;
export const CTV = 56;
export const NATV = 40;
export const GC_TIME = 1000;

export function makeEntry(i: number, ck: Uint8Array, cko: number, cv: Uint8Array, cvo: number,
  nk: Uint8Array, nko: number, nv: Uint8Array, nvo: number): void {
  const s = 1024 + (i % 60000);
  const x = 1024 + (i >>> 16);
  const S = [10, (i >>> 16) & 255, (i >>> 8) & 255, i & 255];
  const D = [100, 64, (i >>> 8) & 255, i & 255];
  const X = [192, 0, 2, 1];
  const sp = [(s >>> 8) & 255, s & 255];
  const dp = [0x01, 0xbb];
  const xp = [(x >>> 8) & 255, x & 255];
  const life = i % 2 === 0 ? 100 : 2000000;
  ck.fill(0, cko, cko + KEY);
  cv.fill(0, cvo, cvo + CTV);
  ck.set(S, cko); ck.set(D, cko + 4); ck.set(dp, cko + 8); ck.set(sp, cko + 10); ck[cko + 12] = 6;
  cv[cvo + 32] = life & 255; cv[cvo + 33] = (life >>> 8) & 255; cv[cvo + 34] = (life >>> 16) & 255; cv[cvo + 35] = life >>> 24;
  cv[cvo + 36] = 0x10;
  // SNAT then RevSNAT, as two consecutive NAT entries.
  nk.fill(0, nko, nko + 2 * KEY);
  nv.fill(0, nvo, nvo + 2 * NATV);
  nk.set(D, nko); nk.set(S, nko + 4); nk.set(dp, nko + 8); nk.set(sp, nko + 10); nk[nko + 12] = 6;
  nv.set(X, nvo + 32); nv.set(xp, nvo + 36); nv[nvo] = 1;
  const ik = nko + KEY;
  const iv = nvo + NATV;
  nk.set(X, ik); nk.set(D, ik + 4); nk.set(xp, ik + 8); nk.set(dp, ik + 10); nk[ik + 12] = 6; nk[ik + 13] = 1;
  nv.set(S, iv + 32); nv.set(sp, iv + 36); nv[iv] = 1;
}
