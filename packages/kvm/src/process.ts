// A simulated Linux process that uses KVM: its fd table, its user memory (where ioctl pointers
// point), errno, and the system calls a VMM makes — open("/dev/kvm"), ioctl, close. Return
// values follow the C library: -1 with `errno` set on failure; `lastError` keeps the KvmError
// with the errno name and the offending field for a human.
import { ErrnoError, type SparseMemory } from "@tdxsim/memory";
import { KvmError, toKvmError } from "./errors.js";
import { checkVfsFallocate, toLoff } from "./fallocate.js";
import type { KvmFile } from "./file.js";
import { GuestMemfdFile } from "./guest-memfd.js";
import { type KvmHost, type KvmHostOptions, resolveHost } from "./host.js";
import { IoctlArg, type IoctlArgument } from "./ioctl-arg.js";
import { Kvm } from "./system.js";
import { ioctlName } from "./uapi/ioctls.js";
import { createUserMemory } from "./user-memory.js";
import { Vcpu } from "./vcpu.js";

/** open(2) flags accepted for /dev/kvm: O_RDWR (2) with O_CLOEXEC etc. ignored. */
export const O_RDWR = 2;
export const DEV_KVM = "/dev/kvm";
/** fds 0..2 are stdin/stdout/stderr; KVM files get the lowest free number above. */
const FIRST_FD = 3;

export class KvmProcess {
  readonly host: KvmHost;
  readonly userMemory: SparseMemory;
  /** errno of the last failed call (0 if none failed yet), as in C. */
  errno = 0;
  lastError: KvmError | undefined;
  private readonly files = new Map<number, KvmFile>();

  constructor(options: KvmHostOptions & { userMemory?: SparseMemory } = {}) {
    this.host = resolveHost(options);
    this.userMemory = options.userMemory ?? createUserMemory();
  }

  /** open(path, flags): only /dev/kvm exists here. */
  open(path: string, flags = O_RDWR): number {
    return this.syscall(DEV_KVM === path ? "open" : `open(${path})`, () => {
      if (path !== DEV_KVM)
        throw new KvmError("ENOENT", `${path}: no such file (only ${DEV_KVM} exists here)`);
      if ((flags & 3) !== O_RDWR) throw new KvmError("EACCES", `${DEV_KVM} must be opened O_RDWR`);
      return this.installFd(new Kvm(this, this.host));
    });
  }

  /** The typed face of open("/dev/kvm"): throws KvmError instead of returning -1. */
  openKvm(): Kvm {
    const fd = this.open(DEV_KVM);
    if (fd < 0) throw this.lastError!;
    return this.files.get(fd) as Kvm;
  }

  close(fd: number): number {
    return this.syscall("close", () => {
      const file = this.fileOrThrow(fd);
      this.files.delete(fd);
      if (![...this.files.values()].includes(file)) file.release?.();
      return 0;
    });
  }

  /** ioctl(fd, request, arg) → result ≥ 0, or -1 with errno set. */
  ioctl(fd: number, request: number, arg: IoctlArgument = 0): number {
    return this.syscall(ioctlName(request), () => {
      const file = this.fileOrThrow(fd);
      return file.ioctl(request, new IoctlArg(arg, this.userMemory));
    });
  }

  /**
   * mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED, fd, offset) of a vCPU fd: the kvm_run
   * mapping, shared with "the kernel". Other KVM fds have no mmap (ENODEV); the mapping is
   * KVM_GET_VCPU_MMAP_SIZE bytes, so a longer length or a non-zero offset is refused (EINVAL) here
   * rather than faulting later as it would in Linux.
   */
  mmap(fd: number, length: number, offset = 0): Uint8Array | undefined {
    let out: Uint8Array | undefined;
    const r = this.syscall("mmap", () => {
      const file = this.fileOrThrow(fd);
      if (!(file instanceof Vcpu)) throw new KvmError("ENODEV", `fd ${fd} (${file.kind}) cannot be mapped`);
      const size = file.run.bytes.length;
      if (!Number.isInteger(length) || length <= 0 || offset !== 0 || length > size) {
        throw new KvmError(
          "EINVAL",
          `a vCPU mapping is ${size} bytes at offset 0 (asked ${length} at ${offset})`,
        );
      }
      out = file.run.bytes.subarray(0, length);
      return 0;
    });
    return r < 0 ? undefined : out;
  }

  /**
   * fallocate(fd, mode, offset, len) → 0, or -1 with errno: vfs_fallocate's checks (EINVAL,
   * EOPNOTSUPP, ENODEV for the anon-inode KVM files, EFBIG), then guest_memfd's own.
   */
  fallocate(fd: number, mode: number, offset: number | bigint, len: number | bigint): number {
    return this.syscall("fallocate", () => {
      const file = this.fileOrThrow(fd);
      if (file instanceof GuestMemfdFile) {
        file.fallocate(mode, offset, len);
        return 0;
      }
      checkVfsFallocate(mode, toLoff(offset, "offset"), toLoff(len, "len"), false);
      throw new KvmError("ENODEV", `fd ${fd} (${file.kind}) has no fallocate`);
    });
  }

  /** The file behind `fd`, for the typed face and tests. */
  file(fd: number): KvmFile | undefined {
    return this.files.get(fd);
  }

  /** Install `file` at the lowest free fd (POSIX); EMFILE when the table is full. */
  installFd(file: KvmFile): number {
    for (let fd = FIRST_FD; fd < this.host.maxFds; fd++) {
      if (!this.files.has(fd)) {
        this.files.set(fd, file);
        return fd;
      }
    }
    throw new KvmError("EMFILE", `all ${this.host.maxFds} file descriptors are in use (RLIMIT_NOFILE)`);
  }

  private fileOrThrow(fd: number): KvmFile {
    const file = Number.isInteger(fd) ? this.files.get(fd) : undefined;
    if (!file) throw new KvmError("EBADF", `fd ${fd} is not open`, { field: "fd" });
    return file;
  }

  private syscall(name: string, body: () => number): number {
    try {
      return body();
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      const err = toKvmError(e, name);
      this.errno = err.errno;
      this.lastError = err;
      return -1;
    }
  }
}
