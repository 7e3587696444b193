// The third argument of ioctl(2): an unsigned long that is either an immediate value
// (KVM_CREATE_VM's type, KVM_CHECK_EXTENSION's cap) or a pointer to a struct. Here a pointer is
// an address in the process's user memory (so a C-minded caller can port code line by line)
// or, as a convenience, a Uint8Array holding the struct itself (like passing &s).
import type { SparseMemory } from "@tdxsim/memory";
import { KvmError } from "./errors.js";
import { copyFromUser, copyToUser } from "./user-memory.js";

export type IoctlArgument = number | bigint | Uint8Array;

const U64_MASK = (1n << 64n) - 1n;

export class IoctlArg {
  constructor(
    readonly raw: IoctlArgument,
    private readonly mem: SparseMemory,
  ) {}

  /** The argument as the kernel's `unsigned long` (negative numbers wrap like a C cast). */
  get value(): bigint {
    const raw = this.raw;
    if (raw instanceof Uint8Array) {
      throw new KvmError("EINVAL", "this ioctl takes an integer argument, not a buffer", { field: "arg" });
    }
    if (typeof raw === "number" && !Number.isSafeInteger(raw)) {
      throw new KvmError("EINVAL", `argument ${raw} is not an integer`, { field: "arg" });
    }
    return BigInt(raw) & U64_MASK;
  }

  /** The user address the argument points to (for pointers embedded in structs: base + offset). */
  get address(): bigint | undefined {
    return this.raw instanceof Uint8Array ? undefined : this.value;
  }

  /** copy_from_user(&s, argp + offset, size) */
  read(size: number, what: string, offset = 0): Uint8Array {
    const raw = this.raw;
    if (raw instanceof Uint8Array) {
      if (offset + size > raw.length) {
        throw new KvmError(
          "EFAULT",
          `${what}: the buffer holds ${raw.length} bytes, ${offset + size} needed`,
          {
            field: what,
          },
        );
      }
      return raw.slice(offset, offset + size);
    }
    return copyFromUser(this.mem, this.value + BigInt(offset), size, what);
  }

  /** copy_to_user(argp + offset, data, data.length) */
  write(data: Uint8Array, what: string, offset = 0): void {
    const raw = this.raw;
    if (raw instanceof Uint8Array) {
      if (offset + data.length > raw.length) {
        throw new KvmError(
          "EFAULT",
          `${what}: the buffer holds ${raw.length} bytes, ${offset + data.length} needed`,
          { field: what },
        );
      }
      raw.set(data, offset);
      return;
    }
    copyToUser(this.mem, this.value + BigInt(offset), data, what);
  }
}
