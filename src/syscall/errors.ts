/**
 * One error type for everything the kernel says no to.
 *
 * Like cilium/ebpf's sentinel errors, a BpfError always carries the errno, so
 * callers can test `err.code === 'ENOENT'` (or `isNotExist(err)`) whatever
 * the wrapping, and every error says which command failed and what to do.
 */

export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9, EAGAIN: 11,
  ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20,
  EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOSPC: 28, ESPIPE: 29, EROFS: 30, ERANGE: 34,
  ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, EOPNOTSUPP: 95, ENOTSUPP: 524,
} as const;
export type ErrnoCode = keyof typeof Errno;

const codeByErrno = new Map<number, ErrnoCode>(
  (Object.entries(Errno) as [ErrnoCode, number][]).map(([k, v]) => [v, k]),
);

// glibc's strerror() texts; a Record over every code, so a code added to Errno without its text fails to compile.
const strerror: Record<ErrnoCode, string> = {
  EPERM: 'operation not permitted', ENOENT: 'no such file or directory', EINTR: 'interrupted system call',
  ESRCH: 'no such process', EIO: 'input/output error', ENXIO: 'no such device or address', EXDEV: 'invalid cross-device link',
  ENODEV: 'no such device', EISDIR: 'is a directory', ENFILE: 'too many open files in system', ESPIPE: 'illegal seek',
  EROFS: 'read-only file system', ENOTEMPTY: 'directory not empty', ELOOP: 'too many levels of symbolic links',
  E2BIG: 'argument list too long', EBADF: 'bad file descriptor', EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'cannot allocate memory', EACCES: 'permission denied', EFAULT: 'bad address',
  EBUSY: 'device or resource busy', EEXIST: 'file exists', ENOTDIR: 'not a directory', EINVAL: 'invalid argument',
  EMFILE: 'too many open files', ENOSPC: 'no space left on device', ERANGE: 'numerical result out of range',
  ENAMETOOLONG: 'file name too long', ENOSYS: 'function not implemented', EOPNOTSUPP: 'operation not supported',
  ENOTSUPP: 'operation not supported',
};

export function errnoCode(errno: number): string {
  return codeByErrno.get(errno) ?? `E${errno}`;
}

export interface BpfErrorInit {
  readonly errno: number;
  /** The bpf command (e.g. 'BPF_MAP_CREATE') or the operation that failed. */
  readonly command: string;
  /** What the call was about: a pin path, a map name. */
  readonly subject?: string;
  readonly hint?: string;
  readonly cause?: unknown;
}

export class BpfError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly command: string;
  readonly subject: string | undefined;
  readonly hint: string | undefined;

  constructor(init: BpfErrorInit) {
    const code = errnoCode(init.errno);
    const text = (strerror as Partial<Record<string, string>>)[code] ?? 'unknown error';
    const about = init.subject === undefined ? '' : ` ${init.subject}`;
    const hint = init.hint ?? defaultHint(init.command, init.errno, init.subject);
    super(`${init.command}${about}: ${text} (${code})${hint === undefined ? '' : `: ${hint}`}`,
      init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'BpfError';
    this.errno = init.errno;
    this.code = code;
    this.command = init.command;
    this.subject = init.subject;
    this.hint = hint;
  }

  /** True when `err` (or anything in its cause chain) is a BpfError with this code. */
  static is(err: unknown, code: ErrnoCode): boolean {
    for (let e: unknown = err; e instanceof Error; e = e.cause) {
      if (e instanceof BpfError && e.errno === Errno[code]) return true;
    }
    return false;
  }
}

/** The Go `os.IsNotExist`/`errors.Is(err, ebpf.ErrKeyNotExist)` test, seeing through wrapping. */
export function isNotExist(err: unknown): boolean {
  return BpfError.is(err, 'ENOENT');
}

/** "Not supported" in either of its spellings (EOPNOTSUPP, the kernel-internal ENOTSUPP). */
export function isNotSupported(err: unknown): boolean {
  return BpfError.is(err, 'ENOTSUPP') || BpfError.is(err, 'EOPNOTSUPP');
}

function defaultHint(command: string, errno: number, subject: string | undefined): string | undefined {
  switch (errno) {
    case Errno.EPERM:
      return 'run as root or with CAP_BPF (CAP_SYS_ADMIN on kernels before 5.8); '
        + 'on kernels before 5.11 map memory is charged to RLIMIT_MEMLOCK: call removeMemlock() (needs CAP_SYS_RESOURCE) or run with ulimit -l unlimited';
    case Errno.ENOENT:
      if (command === 'BPF_OBJ_GET') return `no pinned object at ${subject ?? 'that path'}: is the map created, and is the right bpffs mounted?`;
      return undefined;
    case Errno.ENOSPC:
      if (command.includes('BATCH')) return 'a hash bucket holds more entries than the batch buffer; retry with a larger batch';
      return 'the map is full';
    case Errno.E2BIG:
      if (command === 'BPF_MAP_CREATE') return 'the kernel does not know a non-zero attribute field (kernel too old?) or a size is too large';
      return 'the map is full or the request is larger than the kernel accepts';
    case Errno.EBADF:
      return 'the file descriptor is closed or is not a BPF object';
    case Errno.EINVAL:
      if (command === 'BPF_OBJ_PIN') return 'the pin path must be on a bpffs mount (mount -t bpf bpf DIR)';
      return undefined;
    case Errno.ENOMEM:
      return 'the kernel could not allocate the map (max_entries too large, or memlock limit on old kernels)';
    case Errno.EEXIST:
      if (command === 'BPF_OBJ_PIN') return `something is already pinned at ${subject ?? 'that path'}`;
      return 'the key already exists (BPF_NOEXIST)';
    case Errno.ENOTSUPP:
    case Errno.EOPNOTSUPP:
      return 'this kernel does not support the operation for this map type';
    default:
      return undefined;
  }
}

/** A pinned map whose properties are not what the caller expects; it is never read through. */
export class MapIncompatibleError extends Error {
  readonly path: string;
  readonly field: string;
  readonly want: number | string;
  readonly got: number | string;

  constructor(path: string, field: string, want: number | string, got: number | string) {
    super(`pinned map ${path} is incompatible: ${field} is ${got}, expected ${want}`);
    this.name = 'MapIncompatibleError';
    this.path = path;
    this.field = field;
    this.want = want;
    this.got = got;
  }
}

/** A kernel feature this machine lacks, with the first kernel known to have it. */
export class NotSupportedError extends Error {
  readonly feature: string;
  readonly minKernel: string;

  constructor(feature: string, minKernel: string, cause?: unknown) {
    super(`${feature} is not supported by this kernel (requires Linux ${minKernel} or newer)`,
      cause === undefined ? undefined : { cause });
    this.name = 'NotSupportedError';
    this.feature = feature;
    this.minKernel = minKernel;
  }
}

/**
 * Go errors.Join: undefined for no errors, the error itself for one, and an
 * AggregateError whose message is the messages one per line for several.
 */
export function joinErrors(errs: readonly Error[]): Error | undefined {
  if (errs.length === 0) return undefined;
  if (errs.length === 1) return errs[0];
  return new AggregateError(errs, errs.map((e) => e.message).join('\n'));
}

/** Wrap `err` as Go's fmt.Errorf("<prefix>: %w", err) does, keeping it as the cause. */
export function wrapError(prefix: string, err: unknown): Error {
  return new Error(`${prefix}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Loading a pin failed; `errno`/`code` are the kernel's, and isNotExist() sees through it. */
export class MapLoadError extends Error {
  readonly path: string;
  readonly errno: number | undefined;
  readonly code: string | undefined;

  constructor(path: string, cause: unknown) {
    super(`loading pinned map ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MapLoadError';
    this.path = path;
    this.errno = cause instanceof BpfError ? cause.errno : undefined;
    this.code = cause instanceof BpfError ? cause.code : undefined;
  }
}
