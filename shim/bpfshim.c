/*
 * The only C in ctmap: bpf(2), once or several times in one crossing.
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

/* One call of a vector; src/syscall/vector.ts writes the same layout (24 bytes on LP64). */
struct ctmap_bpf_call {
	int cmd;
	unsigned int size;
	void *attr;
	long ret;
};

/*
 * The calls in order, each result in its `ret`; with `stop_on_error`, none
 * after the first that fails. Returns how many ran. Nothing is decided here:
 * TypeScript built every attr before the crossing and reads every result after.
 */
__attribute__((visibility("default")))
unsigned int ctmap_bpf_vec(struct ctmap_bpf_call *calls, unsigned int n, int stop_on_error)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		calls[i].ret = ctmap_bpf(calls[i].cmd, calls[i].attr, calls[i].size);
		if (calls[i].ret < 0 && stop_on_error)
			return i + 1;
	}
	return n;
}
