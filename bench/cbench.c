/*
 * The C side of `make bench`: the same work as ctmap's, with raw bpf()
 * syscalls and no library, as the physical limit on this machine. Each
 * subcommand opens pinned maps, does one job, and prints one JSON line:
 * {"op":..., "ns":..., ...counters}. The TypeScript driver checks that both
 * sides did the same thing (entries deleted, entries left).
 *
 * Layouts: ipv4_ct_tuple (14, packed), ct_entry (56), ipv4_nat_entry (40),
 * the same bytes ctmap's structs describe.
 */
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KEY 14
#define CTV 56
#define NATV 40
#define OFF_LIFETIME 32
#define OFF_FLAGS 36
#define DSR_INTERNAL 0x80
#define NAT_ADDR 32
#define NAT_PORT 36

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned size) {
	long r = syscall(__NR_bpf, cmd, attr, size);
	return r < 0 ? -errno : r;
}

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int obj_get(const char *path) {
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.pathname = (uint64_t)(uintptr_t)path;
	long fd = sys_bpf(BPF_OBJ_GET, &a, offsetof(union bpf_attr, file_flags) + sizeof(a.file_flags));
	if (fd < 0) { fprintf(stderr, "open %s: %s\n", path, strerror((int)-fd)); exit(2); }
	return (int)fd;
}

static long elem(int cmd, int fd, const void *key, void *value, uint64_t flags) {
	union bpf_attr a;
	memset(&a, 0, offsetof(union bpf_attr, flags) + sizeof(a.flags));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	a.flags = flags;
	return sys_bpf(cmd, &a, offsetof(union bpf_attr, flags) + sizeof(a.flags));
}

/* One BPF_MAP_LOOKUP_BATCH step; returns entries read, 0 at the end; grows *chunk on ENOSPC. */
struct walk { int fd; uint32_t in, out; int first, done; uint32_t chunk, cap; uint8_t *keys, *vals; size_t ks, vs; };

static void walk_init(struct walk *w, int fd, size_t ks, size_t vs, uint32_t chunk) {
	memset(w, 0, sizeof(*w));
	w->fd = fd; w->ks = ks; w->vs = vs; w->chunk = chunk; w->cap = chunk; w->first = 1;
	w->keys = malloc(ks * chunk); w->vals = malloc(vs * chunk);
}

static uint32_t walk_next(struct walk *w) {
	while (!w->done) {
		union bpf_attr a;
		memset(&a, 0, offsetof(union bpf_attr, batch.flags) + sizeof(a.batch.flags));
		a.batch.in_batch = w->first ? 0 : (uint64_t)(uintptr_t)&w->in;
		a.batch.out_batch = (uint64_t)(uintptr_t)&w->out;
		a.batch.keys = (uint64_t)(uintptr_t)w->keys;
		a.batch.values = (uint64_t)(uintptr_t)w->vals;
		a.batch.count = w->chunk;
		a.batch.map_fd = (uint32_t)w->fd;
		long r = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, offsetof(union bpf_attr, batch.flags) + sizeof(a.batch.flags));
		uint32_t n = a.batch.count;
		if (r == -ENOSPC) {
			w->chunk *= 2;
			if (w->chunk > w->cap) { w->cap = w->chunk; w->keys = realloc(w->keys, w->ks * w->cap); w->vals = realloc(w->vals, w->vs * w->cap); }
			continue;
		}
		if (r == -ENOENT) { w->done = 1; return n; }
		if (r < 0) { fprintf(stderr, "lookup batch: %s\n", strerror((int)-r)); exit(2); }
		w->in = w->out; w->first = 0;
		if (n > 0) return n;
	}
	return 0;
}

/* BPF_MAP_DELETE_BATCH over n packed keys, continuing past keys that vanished; returns deleted. */
static uint32_t delete_batch(int fd, const uint8_t *keys, uint32_t n, size_t ks) {
	uint32_t pos = 0, done = 0;
	while (pos < n) {
		union bpf_attr a;
		memset(&a, 0, offsetof(union bpf_attr, batch.flags) + sizeof(a.batch.flags));
		a.batch.keys = (uint64_t)(uintptr_t)(keys + pos * ks);
		a.batch.count = n - pos;
		a.batch.map_fd = (uint32_t)fd;
		long r = sys_bpf(BPF_MAP_DELETE_BATCH, &a, offsetof(union bpf_attr, batch.flags) + sizeof(a.batch.flags));
		done += a.batch.count; pos += a.batch.count;
		if (r >= 0) break;
		if (r != -ENOENT) { fprintf(stderr, "delete batch: %s\n", strerror((int)-r)); exit(2); }
		pos++;
	}
	return done;
}

static uint32_t update_batch(int fd, const uint8_t *keys, const uint8_t *vals, uint32_t n) {
	union bpf_attr a;
	memset(&a, 0, offsetof(union bpf_attr, batch.flags) + sizeof(a.batch.flags));
	a.batch.keys = (uint64_t)(uintptr_t)keys;
	a.batch.values = (uint64_t)(uintptr_t)vals;
	a.batch.count = n;
	a.batch.map_fd = (uint32_t)fd;
	long r = sys_bpf(BPF_MAP_UPDATE_BATCH, &a, offsetof(union bpf_attr, batch.flags) + sizeof(a.batch.flags));
	if (r < 0) { fprintf(stderr, "update batch: %s\n", strerror((int)-r)); exit(2); }
	return a.batch.count;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Cilium's starting chunk: 2^ceil(log2(sqrt(2 * max))). */
static uint32_t start_chunk(uint32_t max) {
	uint32_t c = 1;
	while ((uint64_t)c * c < 2ull * max) c <<= 1;
	return c;
}

/* The bench's synthetic node, identical to bench/node.ts: entry i is an egress TCP flow with its SNAT pair. */
static void make_entry(uint32_t i, uint8_t *ck, uint8_t *cv, uint8_t *ok, uint8_t *ov, uint8_t *ik, uint8_t *iv) {
	uint8_t S[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
	uint8_t D[4] = { 100, 64, (uint8_t)(i >> 8), (uint8_t)i };
	uint8_t X[4] = { 192, 0, 2, 1 };
	uint16_t s = (uint16_t)(1024 + i % 60000), x = (uint16_t)(1024 + (i >> 16));
	uint8_t sp[2] = { (uint8_t)(s >> 8), (uint8_t)s }, dp[2] = { 0x01, 0xbb }, xp[2] = { (uint8_t)(x >> 8), (uint8_t)x };
	uint32_t life = (i % 2 == 0) ? 100 : 2000000;
	memset(ck, 0, KEY); memset(cv, 0, CTV); memset(ok, 0, KEY); memset(ov, 0, NATV); memset(ik, 0, KEY); memset(iv, 0, NATV);
	/* CT egress key: daddr S, saddr D, dport d, sport s, TCP, OUT. */
	memcpy(ck, S, 4); memcpy(ck + 4, D, 4); memcpy(ck + 8, dp, 2); memcpy(ck + 10, sp, 2); ck[12] = 6; ck[13] = 0;
	memcpy(cv + OFF_LIFETIME, &life, 4); cv[OFF_FLAGS] = 0x10;
	/* SNAT: {daddr D, saddr S, dport d, sport s, OUT} -> {X, x}; RevSNAT: {daddr X, saddr D, dport x, sport d, IN} -> {S, s}. */
	memcpy(ok, D, 4); memcpy(ok + 4, S, 4); memcpy(ok + 8, dp, 2); memcpy(ok + 10, sp, 2); ok[12] = 6; ok[13] = 0;
	memcpy(ov + NAT_ADDR, X, 4); memcpy(ov + NAT_PORT, xp, 2); ov[0] = 1;
	memcpy(ik, X, 4); memcpy(ik + 4, D, 4); memcpy(ik + 8, xp, 2); memcpy(ik + 10, dp, 2); ik[12] = 6; ik[13] = 1;
	memcpy(iv + NAT_ADDR, S, 4); memcpy(iv + NAT_PORT, sp, 2); iv[0] = 1;
}

static void fill(int ct, int nat, uint32_t n, uint64_t *ns) {
	const uint32_t step = 65536;
	uint8_t *ck = malloc(KEY * step), *cv = malloc(CTV * step), *nk = malloc(KEY * 2 * step), *nv = malloc(NATV * 2 * step);
	uint64_t t0 = now_ns();
	for (uint32_t base = 0; base < n; base += step) {
		uint32_t m = n - base < step ? n - base : step;
		for (uint32_t j = 0; j < m; j++)
			make_entry(base + j, ck + j * KEY, cv + j * CTV, nk + 2 * j * KEY, nv + 2 * j * NATV, nk + (2 * j + 1) * KEY, nv + (2 * j + 1) * NATV);
		update_batch(ct, ck, cv, m);
		update_batch(nat, nk, nv, 2 * m);
	}
	*ns = now_ns() - t0;
	free(ck); free(cv); free(nk); free(nv);
}

static uint64_t count(int fd, size_t vs, uint32_t max) {
	struct walk w; walk_init(&w, fd, KEY, vs, start_chunk(max));
	uint64_t n = 0; uint32_t got;
	while ((got = walk_next(&w)) > 0 || !w.done) n += got;
	free(w.keys); free(w.vals);
	return n;
}

/* Full dump into records: each entry's fields decoded into a C struct (what ctmap's records hold). */
struct rec { uint8_t daddr[4], saddr[4]; uint16_t dport, sport; uint8_t proto, flags; uint32_t lifetime; uint16_t eflags; uint64_t packets, bytes; };
static uint64_t dump(int fd, uint32_t max) {
	struct walk w; walk_init(&w, fd, KEY, CTV, start_chunk(max));
	uint64_t n = 0, sum = 0; uint32_t got;
	struct rec *r = malloc(sizeof(*r) * w.cap);
	size_t cap = w.cap;
	while ((got = walk_next(&w)) > 0 || !w.done) {
		if (w.cap > cap) { cap = w.cap; r = realloc(r, sizeof(*r) * cap); }
		for (uint32_t i = 0; i < got; i++) {
			const uint8_t *k = w.keys + i * KEY, *v = w.vals + i * CTV;
			memcpy(r[i].daddr, k, 4); memcpy(r[i].saddr, k + 4, 4);
			r[i].dport = rd16(k + 8); r[i].sport = rd16(k + 10); r[i].proto = k[12]; r[i].flags = k[13];
			r[i].lifetime = rd32(v + OFF_LIFETIME); r[i].eflags = rd16(v + OFF_FLAGS);
			memcpy(&r[i].packets, v + 16, 8); memcpy(&r[i].bytes, v + 24, 8);
			sum += r[i].lifetime;
		}
		n += got;
	}
	free(r); free(w.keys); free(w.vals);
	return n + (sum & 0);
}

/* The SNAT OUT key of a CT egress key: the addresses swapped. */
static void nat_out_key(const uint8_t *ct, uint8_t *out) {
	memcpy(out, ct + 4, 4); memcpy(out + 4, ct, 4); memcpy(out + 8, ct + 8, 6); out[13] = 0;
}
static void nat_rev_key(const uint8_t *out, const uint8_t *val, uint8_t *rev) {
	memcpy(rev + 4, out, 4); memcpy(rev + 10, out + 8, 2); memcpy(rev, val + NAT_ADDR, 4); memcpy(rev + 8, val + NAT_PORT, 2);
	rev[12] = out[12]; rev[13] = 1;
}

enum gcmode { GC_CILIUM, GC_BATCHED, GC_SAFE };

static void gc(int ct, int nat, uint32_t time, uint32_t max, enum gcmode mode, uint64_t *deleted, uint64_t *alive, uint64_t *natdel) {
	struct walk w; walk_init(&w, ct, KEY, CTV, start_chunk(max));
	uint8_t *doomed = NULL, *rev = NULL; size_t dcap = 0;
	uint8_t okey[KEY], rkey[KEY], nval[NATV], fresh[CTV];
	uint32_t got;
	while ((got = walk_next(&w)) > 0 || !w.done) {
		if (dcap < got) { dcap = w.cap; doomed = realloc(doomed, dcap * KEY); rev = realloc(rev, dcap * KEY); }
		uint32_t nd = 0, nr = 0;
		for (uint32_t i = 0; i < got; i++) {
			const uint8_t *k = w.keys + i * KEY, *v = w.vals + i * CTV;
			if (!(rd32(v + OFF_LIFETIME) < time)) { (*alive)++; continue; }
			if (mode == GC_BATCHED) { memcpy(doomed + nd * KEY, k, KEY); nd++; continue; }
			if (mode == GC_SAFE) {
				/* Re-read right before deleting; leave what the datapath refreshed. */
				if (elem(BPF_MAP_LOOKUP_ELEM, ct, k, fresh, 0) < 0) continue;
				if (rd32(fresh + OFF_LIFETIME) != rd32(v + OFF_LIFETIME) && !(rd32(fresh + OFF_LIFETIME) < time)) continue;
			}
			if (elem(BPF_MAP_DELETE_ELEM, ct, k, NULL, 0) < 0) continue;
			(*deleted)++;
			if (k[13] != 0) continue;
			nat_out_key(k, okey);
			if (mode == GC_CILIUM) {
				/* Cilium: lookup, then delete both directions. */
				if (elem(BPF_MAP_LOOKUP_ELEM, nat, okey, nval, 0) < 0) continue;
				nat_rev_key(okey, nval, rkey);
				if (elem(BPF_MAP_DELETE_ELEM, nat, okey, NULL, 0) == 0) (*natdel)++;
				if (elem(BPF_MAP_DELETE_ELEM, nat, rkey, NULL, 0) == 0) (*natdel)++;
			} else {
				/* Safe mode: the SNAT entry at once, its reverse key batched with the others of this batch. */
				if (elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, nat, okey, nval, 0) < 0) continue;
				(*natdel)++;
				nat_rev_key(okey, nval, rev + nr * KEY);
				nr++;
			}
		}
		if (mode == GC_SAFE && nr > 0) *natdel += delete_batch(nat, rev, nr, KEY);
		if (mode == GC_BATCHED && nd > 0) {
			*deleted += delete_batch(ct, doomed, nd, KEY);
			for (uint32_t j = 0; j < nd; j++) {
				const uint8_t *k = doomed + j * KEY;
				if (k[13] != 0) continue;
				nat_out_key(k, okey);
				if (elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, nat, okey, nval, 0) < 0) continue;
				(*natdel)++;
				nat_rev_key(okey, nval, rev + nr * KEY);
				nr++;
			}
			*natdel += delete_batch(nat, rev, nr, KEY);
		}
	}
	free(doomed); free(rev); free(w.keys); free(w.vals);
}

/* Orphan purge: batch-read the NAT map, ask the CT map per entry (as Cilium does), batch-delete the orphans. */
static void purge(int ct, int nat, uint32_t max, uint64_t *alive, uint64_t *deleted) {
	struct walk w; walk_init(&w, nat, KEY, NATV, start_chunk(max));
	uint8_t *orph = NULL; size_t ocap = 0, no = 0;
	uint8_t ck[KEY], cv[CTV];
	uint32_t got;
	while ((got = walk_next(&w)) > 0 || !w.done) {
		for (uint32_t i = 0; i < got; i++) {
			const uint8_t *k = w.keys + i * KEY, *v = w.vals + i * NATV;
			int live;
			if (k[13] & 1) {
				memcpy(ck, v + NAT_ADDR, 4); memcpy(ck + 4, k + 4, 4); memcpy(ck + 10, v + NAT_PORT, 2); memcpy(ck + 8, k + 10, 2);
				ck[12] = k[12]; ck[13] = 0;
				long r = elem(BPF_MAP_LOOKUP_ELEM, ct, ck, cv, 0);
				live = r == 0 || r != -ENOENT;
			} else {
				memcpy(ck, k + 4, 4); memcpy(ck + 4, k, 4); memcpy(ck + 8, k + 8, 4); ck[12] = k[12]; ck[13] = 0;
				long r = elem(BPF_MAP_LOOKUP_ELEM, ct, ck, cv, 0);
				live = r == 0 || r != -ENOENT;
				if (!live) {
					memcpy(ck, k, 8); memcpy(ck + 8, k + 10, 2); memcpy(ck + 10, k + 8, 2);
					r = elem(BPF_MAP_LOOKUP_ELEM, ct, ck, cv, 0);
					live = (r == 0 && (cv[OFF_FLAGS] & DSR_INTERNAL)) || (r != 0 && r != -ENOENT);
				}
			}
			if (live) { (*alive)++; continue; }
			if (no == ocap) { ocap = ocap ? ocap * 2 : 4096; orph = realloc(orph, ocap * KEY); }
			memcpy(orph + no * KEY, k, KEY); no++;
		}
	}
	*deleted = delete_batch(nat, orph, (uint32_t)no, KEY);
	free(orph); free(w.keys); free(w.vals);
}

/* Delete the CT entries of every third flow (untimed): their NAT pairs become orphans. */
static uint64_t evict(int ct, uint32_t n) {
	uint8_t ck[KEY], cv[CTV], a[KEY], b[NATV], c[KEY], d[NATV];
	uint64_t gone = 0;
	for (uint32_t i = 0; i < n; i += 3) {
		make_entry(i, ck, cv, a, b, c, d);
		if (elem(BPF_MAP_DELETE_ELEM, ct, ck, NULL, 0) == 0) gone++;
	}
	return gone;
}

static void ops(int ct, uint32_t iters, double *lookup_ns, double *update_ns) {
	uint8_t ck[KEY], cv[CTV], a[KEY], b[NATV], c[KEY], d[NATV], out[CTV];
	make_entry(1, ck, cv, a, b, c, d);
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < iters; i++) elem(BPF_MAP_LOOKUP_ELEM, ct, ck, out, 0);
	uint64_t t1 = now_ns();
	for (uint32_t i = 0; i < iters; i++) elem(BPF_MAP_UPDATE_ELEM, ct, ck, cv, BPF_ANY);
	uint64_t t2 = now_ns();
	*lookup_ns = (double)(t1 - t0) / iters;
	*update_ns = (double)(t2 - t1) / iters;
}

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: cbench OP CTPIN [NATPIN] [ARG]\n"); return 2; }
	const char *op = argv[1];
	int ct = obj_get(argv[2]);
	int nat = argc > 3 ? obj_get(argv[3]) : -1;
	uint32_t arg = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 0;
	uint32_t max = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 10) : 1048576;
	uint64_t t0 = now_ns(), ns = 0;
	if (!strcmp(op, "fill")) {
		fill(ct, nat, arg, &ns);
		printf("{\"op\":\"fill\",\"ns\":%llu,\"entries\":%u}\n", (unsigned long long)ns, arg);
	} else if (!strcmp(op, "count")) {
		uint64_t n = count(ct, CTV, max);
		printf("{\"op\":\"count\",\"ns\":%llu,\"entries\":%llu}\n", (unsigned long long)(now_ns() - t0), (unsigned long long)n);
	} else if (!strcmp(op, "dump")) {
		uint64_t n = dump(ct, max);
		printf("{\"op\":\"dump\",\"ns\":%llu,\"entries\":%llu}\n", (unsigned long long)(now_ns() - t0), (unsigned long long)n);
	} else if (!strcmp(op, "gc-cilium") || !strcmp(op, "gc-batched") || !strcmp(op, "gc-safe")) {
		enum gcmode m = !strcmp(op, "gc-cilium") ? GC_CILIUM : !strcmp(op, "gc-batched") ? GC_BATCHED : GC_SAFE;
		uint64_t del = 0, alive = 0, natdel = 0;
		gc(ct, nat, arg, max, m, &del, &alive, &natdel);
		printf("{\"op\":\"%s\",\"ns\":%llu,\"deleted\":%llu,\"alive\":%llu,\"natDeleted\":%llu}\n", op,
			(unsigned long long)(now_ns() - t0), (unsigned long long)del, (unsigned long long)alive, (unsigned long long)natdel);
	} else if (!strcmp(op, "purge")) {
		uint64_t alive = 0, del = 0;
		purge(ct, nat, max, &alive, &del);
		printf("{\"op\":\"purge\",\"ns\":%llu,\"alive\":%llu,\"deleted\":%llu}\n", (unsigned long long)(now_ns() - t0), (unsigned long long)alive, (unsigned long long)del);
	} else if (!strcmp(op, "evict")) {
		uint64_t g = evict(ct, arg);
		printf("{\"op\":\"evict\",\"evicted\":%llu}\n", (unsigned long long)g);
	} else if (!strcmp(op, "ops")) {
		double l, u;
		ops(ct, arg, &l, &u);
		printf("{\"op\":\"ops\",\"lookupNs\":%.1f,\"updateNs\":%.1f}\n", l, u);
	} else {
		fprintf(stderr, "unknown op %s\n", op);
		return 2;
	}
	return 0;
}
