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
  // Byte by byte, no arrays: the generator runs inside the timed fill, as make_entry does in C.
  const s = 1024 + (i % 60000);
  const x = 1024 + (i >>> 16);
  const s0 = 10, s1 = (i >>> 16) & 255, s2 = (i >>> 8) & 255, s3 = i & 255;
  const d0 = 100, d1 = 64, d2 = (i >>> 8) & 255, d3 = i & 255;
  const sp0 = (s >>> 8) & 255, sp1 = s & 255;
  const xp0 = (x >>> 8) & 255, xp1 = x & 255;
  const life = i % 2 === 0 ? 100 : 2000000;
  ck.fill(0, cko, cko + KEY);
  cv.fill(0, cvo, cvo + CTV);
  // CT egress key: daddr S, saddr D, dport 443, sport s, TCP, OUT.
  ck[cko] = s0; ck[cko + 1] = s1; ck[cko + 2] = s2; ck[cko + 3] = s3;
  ck[cko + 4] = d0; ck[cko + 5] = d1; ck[cko + 6] = d2; ck[cko + 7] = d3;
  ck[cko + 8] = 0x01; ck[cko + 9] = 0xbb; ck[cko + 10] = sp0; ck[cko + 11] = sp1; ck[cko + 12] = 6;
  cv[cvo + 32] = life & 255; cv[cvo + 33] = (life >>> 8) & 255; cv[cvo + 34] = (life >>> 16) & 255; cv[cvo + 35] = life >>> 24;
  cv[cvo + 36] = 0x10;
  // SNAT then RevSNAT, as two consecutive NAT entries.
  nk.fill(0, nko, nko + 2 * KEY);
  nv.fill(0, nvo, nvo + 2 * NATV);
  nk[nko] = d0; nk[nko + 1] = d1; nk[nko + 2] = d2; nk[nko + 3] = d3;
  nk[nko + 4] = s0; nk[nko + 5] = s1; nk[nko + 6] = s2; nk[nko + 7] = s3;
  nk[nko + 8] = 0x01; nk[nko + 9] = 0xbb; nk[nko + 10] = sp0; nk[nko + 11] = sp1; nk[nko + 12] = 6;
  nv[nvo] = 1; nv[nvo + 32] = 192; nv[nvo + 33] = 0; nv[nvo + 34] = 2; nv[nvo + 35] = 1; nv[nvo + 36] = xp0; nv[nvo + 37] = xp1;
  const ik = nko + KEY;
  const iv = nvo + NATV;
  nk[ik] = 192; nk[ik + 1] = 0; nk[ik + 2] = 2; nk[ik + 3] = 1;
  nk[ik + 4] = d0; nk[ik + 5] = d1; nk[ik + 6] = d2; nk[ik + 7] = d3;
  nk[ik + 8] = xp0; nk[ik + 9] = xp1; nk[ik + 10] = 0x01; nk[ik + 11] = 0xbb; nk[ik + 12] = 6; nk[ik + 13] = 1;
  nv[iv] = 1; nv[iv + 32] = s0; nv[iv + 33] = s1; nv[iv + 34] = s2; nv[iv + 35] = s3; nv[iv + 36] = sp0; nv[iv + 37] = sp1;
}
