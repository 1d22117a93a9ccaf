/*
 * The Cilium datapath structs ctmap reads and writes, written for the tests
 * from the layout tables of the spec (ctmap.md §4-5, nat-datapath.md §3):
 * packed where the datapath's are packed, the ct_entry flag bitfield as the
 * u16 it occupies. `offsets` prints "<struct>.<field> <offset> <size>";
 * `samples` prints one line of hex per struct, filled with known values the
 * TypeScript decoders must read back field for field.
 */
#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

struct ipv4_ct_tuple {
	__u8 daddr[4];
	__u8 saddr[4];
	__be16 dport;
	__be16 sport;
	__u8 nexthdr;
	__u8 flags;
} __attribute__((packed));

struct ipv6_ct_tuple {
	__u8 daddr[16];
	__u8 saddr[16];
	__be16 dport;
	__be16 sport;
	__u8 nexthdr;
	__u8 flags;
} __attribute__((packed));

struct ct_entry {
	__u64 union0[2];
	__u64 packets;
	__u64 bytes;
	__u32 lifetime;
	__u16 flags; /* rx_closing:1, tx_closing:1, reserved1:1, lb_loopback:1, ... */
	__be16 rev_nat_index;
	__be16 nat_port;
	__u8 tx_flags_seen;
	__u8 rx_flags_seen;
	__u32 src_sec_id;
	__u32 last_tx_report;
	__u32 last_rx_report;
};

struct nat_entry {
	__u64 created;
	__u64 needs_ct;
	__u64 pad1;
	__u64 pad2;
};

struct ipv4_nat_entry {
	struct nat_entry common;
	union {
		struct { __be32 to_saddr; __be16 to_sport; };
		struct { __be32 to_daddr; __be16 to_dport; };
	};
};

struct ipv6_nat_entry {
	struct nat_entry common;
	union {
		struct { __u8 to_saddr[16]; __be16 to_sport; };
		struct { __u8 to_daddr[16]; __be16 to_dport; };
	};
};

#define SZ(type, member) sizeof(((type *)0)->member)
#define O(type, name, member) printf("%s.%s %zu %zu\n", #type, name, offsetof(struct type, member), SZ(struct type, member))

static void hex(const char *name, const void *p, size_t n)
{
	const unsigned char *b = p;
	printf("%s ", name);
	for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "samples") == 0) {
		struct ipv4_ct_tuple t4 = { .daddr = {10, 0, 0, 1}, .saddr = {10, 0, 0, 2},
			.dport = htons(80), .sport = htons(40000), .nexthdr = 6, .flags = 1 };
		struct ipv6_ct_tuple t6 = { .daddr = {0xf0, 0x0d, [15] = 1}, .saddr = {0xf0, 0x0d, [15] = 2},
			.dport = htons(443), .sport = htons(55555), .nexthdr = 17, .flags = 2 };
		struct ct_entry e = { .union0 = {0x0102030405060708ULL, 42}, .packets = 3, .bytes = 0xfffffffffffffffeULL,
			.lifetime = 37400, .flags = 0x8093, .rev_nat_index = htons(7), .nat_port = htons(8080),
			.tx_flags_seen = 0x02, .rx_flags_seen = 0x1b, .src_sec_id = 2, .last_tx_report = 100, .last_rx_report = 200 };
		struct ipv4_nat_entry n4;
		struct ipv6_nat_entry n6;
		memset(&n4, 0, sizeof(n4));
		memset(&n6, 0, sizeof(n6));
		n4.common.created = 1000; n4.common.needs_ct = 1;
		n4.to_saddr = htonl(0x0a00020f); n4.to_sport = htons(34520);
		n6.common.created = 5; n6.common.pad2 = 9;
		n6.to_daddr[0] = 0xf0; n6.to_daddr[1] = 0x0d; n6.to_daddr[15] = 0x63; n6.to_dport = htons(53);
		hex("ipv4_ct_tuple", &t4, sizeof(t4));
		hex("ipv6_ct_tuple", &t6, sizeof(t6));
		hex("ct_entry", &e, sizeof(e));
		hex("ipv4_nat_entry", &n4, sizeof(n4));
		hex("ipv6_nat_entry", &n6, sizeof(n6));
		return 0;
	}
	O(ipv4_ct_tuple, "daddr", daddr); O(ipv4_ct_tuple, "saddr", saddr); O(ipv4_ct_tuple, "dport", dport);
	O(ipv4_ct_tuple, "sport", sport); O(ipv4_ct_tuple, "nexthdr", nexthdr); O(ipv4_ct_tuple, "flags", flags);
	O(ipv6_ct_tuple, "daddr", daddr); O(ipv6_ct_tuple, "saddr", saddr); O(ipv6_ct_tuple, "dport", dport);
	O(ipv6_ct_tuple, "sport", sport); O(ipv6_ct_tuple, "nexthdr", nexthdr); O(ipv6_ct_tuple, "flags", flags);
	O(ct_entry, "union0", union0); O(ct_entry, "packets", packets); O(ct_entry, "bytes", bytes);
	O(ct_entry, "lifetime", lifetime); O(ct_entry, "flags", flags); O(ct_entry, "rev_nat_index", rev_nat_index);
	O(ct_entry, "nat_port", nat_port); O(ct_entry, "tx_flags_seen", tx_flags_seen);
	O(ct_entry, "rx_flags_seen", rx_flags_seen); O(ct_entry, "src_sec_id", src_sec_id);
	O(ct_entry, "last_tx_report", last_tx_report); O(ct_entry, "last_rx_report", last_rx_report);
	O(ipv4_nat_entry, "created", common.created); O(ipv4_nat_entry, "needs_ct", common.needs_ct);
	O(ipv4_nat_entry, "pad1", common.pad1); O(ipv4_nat_entry, "pad2", common.pad2);
	O(ipv4_nat_entry, "addr", to_saddr); O(ipv4_nat_entry, "port", to_sport);
	O(ipv6_nat_entry, "created", common.created); O(ipv6_nat_entry, "needs_ct", common.needs_ct);
	O(ipv6_nat_entry, "pad1", common.pad1); O(ipv6_nat_entry, "pad2", common.pad2);
	O(ipv6_nat_entry, "addr", to_daddr); O(ipv6_nat_entry, "port", to_dport);
	printf("sizeof.ipv4_ct_tuple %zu 0\n", sizeof(struct ipv4_ct_tuple));
	printf("sizeof.ipv6_ct_tuple %zu 0\n", sizeof(struct ipv6_ct_tuple));
	printf("sizeof.ct_entry %zu 0\n", sizeof(struct ct_entry));
	printf("sizeof.ipv4_nat_entry %zu 0\n", sizeof(struct ipv4_nat_entry));
	printf("sizeof.ipv6_nat_entry %zu 0\n", sizeof(struct ipv6_nat_entry));
	return 0;
}
