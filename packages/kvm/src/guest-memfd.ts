// A guest_memfd file (KVM_CREATE_GUEST_MEMFD; virt/kvm/guest_memfd.c): the fd a VMM holds for a
// @tdxsim/memory GuestMemfd. It has no ioctls (vfs_ioctl → ENOTTY), no read/write/mmap (6.16),
// and fallocate(PUNCH_HOLE|KEEP_SIZE) / fallocate(KEEP_SIZE). As in the kernel, the file pins
// its VM and memslots do not pin the file: closing the last fd zaps every binding's private
// mappings, frees the pages and leaves the memslots without private backing (a later private
// fault on them is EFAULT, kvm_gmem_get_pfn with no file).
import type { GuestMemfd } from "@tdxsim/memory";
import { asKvmError } from "./errors.js";
import { checkVfsFallocate, toLoff } from "./fallocate.js";
import { IoctlFile } from "./file.js";
import type { Vm } from "./vm.js";

export class GuestMemfdFile extends IoctlFile {
  readonly kind = "kvm-gmem" as const;
  /** guest_memfd has no unlocked_ioctl: vfs_ioctl answers ENOTTY. */
  protected readonly unknownIoctlErrno = "ENOTTY" as const;
  fd = -1;
  /** The last fd was closed (kvm_gmem_release ran); bound memslots lost their private half. */
  released = false;

  constructor(
    /** The VM that created the file (and that it keeps alive). */
    readonly vm: Vm,
    readonly gmem: GuestMemfd,
  ) {
    super();
  }

  get size(): number {
    return this.gmem.size;
  }

  get flags(): number {
    return this.gmem.flags;
  }

  /**
   * fallocate(fd, mode, offset, len): PUNCH_HOLE|KEEP_SIZE discards pages (their private mappings
   * are zapped first, through the VM's zap hook), KEEP_SIZE preallocates. Errors: vfs_fallocate's
   * (EINVAL, EOPNOTSUPP, EFBIG), then kvm_gmem_fallocate's (EOPNOTSUPP without KEEP_SIZE or with
   * another mode, EINVAL unaligned or preallocating past the end).
   */
  fallocate(mode: number, offset: number | bigint, len: number | bigint): void {
    asKvmError("fallocate", () => {
      const off = toLoff(offset, "offset");
      const length = toLoff(len, "len");
      checkVfsFallocate(mode, off, length, true);
      this.gmem.fallocate(mode, off, length);
    });
  }

  /** close(fd) (typed): the last reference goes, so the file is released. */
  close(): void {
    if (this.vm.process.close(this.fd) < 0) throw this.vm.process.lastError!;
  }

  /** kvm_gmem_release: the last fd is gone. */
  release(): void {
    this.released = true;
    this.vm.memory.releaseGuestMemfd(this);
  }
}
