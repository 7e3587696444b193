// KvmError: what a KVM ioctl would return as -errno, with the errno name and number (from
// ErrnoError) plus which ioctl and which field were at fault, and for TDX the raw SEAMCALL
// status that KVM copies into kvm_tdx_cmd.hw_error.
import { ErrnoError, type ErrnoName } from "@tdxsim/memory";

export interface KvmErrorDetails {
  /** The offending field, as a C path: "kvm_tdx_cmd.hw_error", "kvm_msr_filter.ranges[2].nmsrs". */
  field?: string;
  /** The ioctl that failed, e.g. "KVM_CREATE_VM" (the dispatcher fills it in). */
  ioctl?: string;
  /** A TDX module status surfaced by the kernel (kvm_tdx_cmd.hw_error). */
  hwError?: bigint;
}

export class KvmError extends ErrnoError {
  override name = "KvmError";
  readonly field: string | undefined;
  readonly ioctl: string | undefined;
  readonly hwError: bigint | undefined;

  constructor(code: ErrnoName, message: string, details: KvmErrorDetails = {}) {
    super(code, details.ioctl ? `${details.ioctl}: ${message}` : message);
    this.field = details.field;
    this.ioctl = details.ioctl;
    this.hwError = details.hwError;
  }

  /** The same error attributed to `ioctl` (used by the dispatcher). */
  withIoctl(ioctl: string): KvmError {
    if (this.ioctl) return this;
    const plain = this.message.slice(this.code.length + 2);
    return new KvmError(this.code, plain, { field: this.field, ioctl, hwError: this.hwError });
  }
}

/** An ErrnoError from a lower layer (memory) as a KvmError attributed to `ioctl`. */
export function toKvmError(e: ErrnoError, ioctl: string): KvmError {
  return e instanceof KvmError
    ? e.withIoctl(ioctl)
    : new KvmError(e.code, e.message.slice(e.code.length + 2), { ioctl });
}

/** Runs `body`, turning a lower layer's ErrnoError into a KvmError naming `ioctl` (the typed face). */
export function asKvmError<T>(ioctl: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    throw e instanceof ErrnoError ? toKvmError(e, ioctl) : e;
  }
}

/** EINVAL naming `field`: the most common rejection. */
export function invalid(field: string, why: string): KvmError {
  return new KvmError("EINVAL", `${field} ${why}`, { field });
}
