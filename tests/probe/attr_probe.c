/*
 * Prints offset and size of every bpf_attr / bpf_map_info field ctmap's
 * TypeScript layouts declare, from the system's <linux/bpf.h>, as
 * "<layout>.<field> <offset> <size>" lines, plus the command and map type
 * numbers as "const.<NAME> <value> 0".
 */
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>

#define SZ(type, member) sizeof(((type *)0)->member)
#define A(layout, field, member) \
	printf("%s.%s %zu %zu\n", layout, field, offsetof(union bpf_attr, member), SZ(union bpf_attr, member))
#define I(field) \
	printf("bpf_map_info.%s %zu %zu\n", #field, offsetof(struct bpf_map_info, field), SZ(struct bpf_map_info, field))
#define C(name) printf("const.%s %d 0\n", #name, (int)(name))

int main(void)
{
	A("bpf_attr.map_create", "map_type", map_type);
	A("bpf_attr.map_create", "key_size", key_size);
	A("bpf_attr.map_create", "value_size", value_size);
	A("bpf_attr.map_create", "max_entries", max_entries);
	A("bpf_attr.map_create", "map_flags", map_flags);
	A("bpf_attr.map_create", "inner_map_fd", inner_map_fd);
	A("bpf_attr.map_create", "numa_node", numa_node);
	A("bpf_attr.map_create", "map_name", map_name);
	A("bpf_attr.map_create", "map_ifindex", map_ifindex);
	A("bpf_attr.map_create", "btf_fd", btf_fd);
	A("bpf_attr.map_create", "btf_key_type_id", btf_key_type_id);
	A("bpf_attr.map_create", "btf_value_type_id", btf_value_type_id);
	A("bpf_attr.map_create", "btf_vmlinux_value_type_id", btf_vmlinux_value_type_id);
	A("bpf_attr.map_create", "map_extra", map_extra);

	A("bpf_attr.map_elem", "map_fd", map_fd);
	A("bpf_attr.map_elem", "key", key);
	A("bpf_attr.map_elem", "value", value);
	A("bpf_attr.map_elem", "flags", flags);
	/* next_key shares value's slot */
	A("bpf_attr.map_elem_next", "value", next_key);

	A("bpf_attr.batch", "in_batch", batch.in_batch);
	A("bpf_attr.batch", "out_batch", batch.out_batch);
	A("bpf_attr.batch", "keys", batch.keys);
	A("bpf_attr.batch", "values", batch.values);
	A("bpf_attr.batch", "count", batch.count);
	A("bpf_attr.batch", "map_fd", batch.map_fd);
	A("bpf_attr.batch", "elem_flags", batch.elem_flags);
	A("bpf_attr.batch", "flags", batch.flags);

	A("bpf_attr.obj_pin", "pathname", pathname);
	A("bpf_attr.obj_pin", "bpf_fd", bpf_fd);
	A("bpf_attr.obj_pin", "file_flags", file_flags);

	A("bpf_attr.info", "bpf_fd", info.bpf_fd);
	A("bpf_attr.info", "info_len", info.info_len);
	A("bpf_attr.info", "info", info.info);

	A("bpf_attr.get_id", "map_id", map_id);
	A("bpf_attr.get_id", "next_id", next_id);
	A("bpf_attr.get_id", "open_flags", open_flags);

	I(type); I(id); I(key_size); I(value_size); I(max_entries); I(map_flags); I(name); I(ifindex);
	I(btf_vmlinux_value_type_id); I(netns_dev); I(netns_ino); I(btf_id); I(btf_key_type_id);
	I(btf_value_type_id); I(map_extra);
	printf("sizeof.bpf_map_info %zu 0\n", sizeof(struct bpf_map_info));

	C(BPF_MAP_CREATE); C(BPF_MAP_LOOKUP_ELEM); C(BPF_MAP_UPDATE_ELEM); C(BPF_MAP_DELETE_ELEM);
	C(BPF_MAP_GET_NEXT_KEY); C(BPF_MAP_LOOKUP_AND_DELETE_ELEM); C(BPF_OBJ_PIN); C(BPF_OBJ_GET); C(BPF_MAP_GET_FD_BY_ID); C(BPF_OBJ_GET_INFO_BY_FD);
	C(BPF_MAP_LOOKUP_BATCH); C(BPF_MAP_LOOKUP_AND_DELETE_BATCH); C(BPF_MAP_UPDATE_BATCH); C(BPF_MAP_DELETE_BATCH);
	C(BPF_MAP_TYPE_HASH); C(BPF_MAP_TYPE_ARRAY); C(BPF_MAP_TYPE_PERCPU_HASH); C(BPF_MAP_TYPE_PERCPU_ARRAY);
	C(BPF_MAP_TYPE_LRU_HASH); C(BPF_MAP_TYPE_LRU_PERCPU_HASH); C(BPF_MAP_TYPE_LPM_TRIE);
	C(BPF_MAP_TYPE_ARRAY_OF_MAPS); C(BPF_MAP_TYPE_HASH_OF_MAPS);
	C(BPF_ANY); C(BPF_NOEXIST); C(BPF_EXIST); C(BPF_F_LOCK);
	C(BPF_F_NO_PREALLOC); C(BPF_F_NO_COMMON_LRU); C(BPF_F_NUMA_NODE); C(BPF_F_RDONLY); C(BPF_F_WRONLY);
	C(BPF_OBJ_NAME_LEN);
	return 0;
}
