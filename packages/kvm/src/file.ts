// What an fd refers to: /dev/kvm, a VM, a vCPU or a guest_memfd. Each KVM file kind answers
// ioctls through a table from request number to handler; a request a file does not know gets
// the errno that kind of file gives in Linux (x86): /dev/kvm → EINVAL (kvm_arch_dev_ioctl),
// VM → ENOTTY (kvm_arch_vm_ioctl), vCPU → EINVAL (kvm_arch_vcpu_ioctl), and a file without
// an ioctl method at all (guest_memfd) → ENOTTY (vfs_ioctl).
import type { ErrnoName } from "@tdxsim/memory";
import { KvmError } from "./errors.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { ioctlName } from "./uapi/ioctls.js";

/** anon-inode names as /proc/<pid>/fd shows them ("anon_inode:kvm-vm"). */
export type KvmFileKind = "kvm" | "kvm-vm" | "kvm-vcpu" | "kvm-gmem";

export interface KvmFile {
  readonly kind: KvmFileKind;
  ioctl(request: number, arg: IoctlArg): number;
  /** Called when the last fd referring to the file is closed. */
  release?(): void;
}

export type IoctlHandler = (arg: IoctlArg) => number;

/** A file whose ioctls are a request → handler table. */
export abstract class IoctlFile implements KvmFile {
  abstract readonly kind: KvmFileKind;
  /** errno for requests this file does not implement. */
  protected abstract readonly unknownIoctlErrno: ErrnoName;
  private readonly handlers = new Map<number, IoctlHandler>();

  protected on(request: number, handler: IoctlHandler): void {
    this.handlers.set(request >>> 0, handler);
  }

  ioctl(request: number, arg: IoctlArg): number {
    const handler = this.handlers.get(request >>> 0);
    if (!handler) {
      throw new KvmError(
        this.unknownIoctlErrno,
        `${ioctlName(request)} is not an ioctl of ${this.kind} fds in tdxsim (Linux gives ${this.unknownIoctlErrno} for unknown requests here)`,
        { ioctl: ioctlName(request) },
      );
    }
    return handler(arg);
  }

  /** Whether `request` has a handler (for the README's coverage table and tests). */
  handles(request: number): boolean {
    return this.handlers.has(request >>> 0);
  }
}
