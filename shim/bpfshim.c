/*
 * The only C in ctmap: one entry point around bpf(2).
 *
 * It knows nothing about bpf_attr; TypeScript builds the attribute bytes,
 * passes them here with their size, and gets back the syscall's result or
 * -errno (so that errno cannot be clobbered between the syscall and the
 * moment the FFI layer would otherwise read it).
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((visibility("default")))
long ctmap_bpf(int cmd, void *attr, unsigned int size)
{
	long ret = syscall(SYS_bpf, cmd, attr, size);

	return ret < 0 ? -errno : ret;
}
