// How KVM turns a failed SEAMCALL into an errno (arch/x86/kvm/vmx/tdx.c, 6.16): the raw status goes
// to kvm_tdx_cmd.hw_error; OPERAND_BUSY → EBUSY; an unexpected failure is a KVM_BUG_ON (the VM is
// marked dead) → EIO.
import { decodeTdxStatus, type SeamcallOutput, TdxStatus } from "@tdxsim/tdx-module";
import { KvmError } from "./errors.js";

/** TDX_SEAMCALL_STATUS_MASK: the class and details in bits 63:32; bits 31:0 name an operand. */
export const TDX_SEAMCALL_STATUS_MASK = 0xffffffff00000000n;

export function statusClass(status: bigint): bigint {
  return status & TDX_SEAMCALL_STATUS_MASK;
}

export function isOperandBusy(status: bigint): boolean {
  return statusClass(status) === TdxStatus.TDX_OPERAND_BUSY;
}

export function isOperandInvalid(status: bigint): boolean {
  return statusClass(status) === TdxStatus.TDX_OPERAND_INVALID;
}

/** A SEAMCALL failure as the KvmError KVM returns; `bug` marks the VM dead first (KVM_BUG_ON). */
export function seamcallError(leaf: string, out: SeamcallOutput, bug?: () => void): KvmError {
  const hwError = out.status;
  const what = `${leaf} failed: ${decodeTdxStatus(hwError)} (0x${hwError.toString(16)})`;
  if (isOperandBusy(hwError)) return new KvmError("EBUSY", what, { hwError });
  bug?.();
  return new KvmError("EIO", what, { hwError });
}

/** Throws `seamcallError` unless the SEAMCALL succeeded. */
export function check(leaf: string, out: SeamcallOutput, bug?: () => void): SeamcallOutput {
  if (out.status !== 0n) throw seamcallError(leaf, out, bug);
  return out;
}
