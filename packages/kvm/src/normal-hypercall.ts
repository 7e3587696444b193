// kvm_emulate_hypercall (x86.c 6.16) for a normal vCPU's VMCALL: nr in RAX, arguments in RBX, RCX,
// RDX, RSI (all truncated to 32 bits outside 64-bit mode). CPL > 0 → -KVM_EPERM;
// KVM_HC_VAPIC_POLL_IRQ → 0; KVM_HC_MAP_GPA_RANGE exits to userspace when enabled with
// KVM_CAP_EXIT_HYPERCALL (misaligned GPA, 0 pages or a wrapping range → -KVM_EINVAL); anything
// else → -KVM_ENOSYS (the PV hypercalls KICK_CPU, SEND_IPI, SCHED_YIELD, CLOCK_PAIRING are not emulated).
import { type Cpu, cpl } from "@tdxsim/x86";
import { KVM_EXIT_HYPERCALL_VALID_MASK } from "./capabilities.js";
import { KvmHc } from "./uapi/constants.js";

/** -KVM_ENOSYS, -KVM_EINVAL, -KVM_EPERM (include/uapi/linux/kvm_para.h) as the guest sees them in RAX. */
export const KVM_ENOSYS = 1000n;
export const KVM_EINVAL = 22n;
export const KVM_EPERM = 1n;
const M64 = (1n << 64n) - 1n;

export type HypercallOutcome =
  /** answered in the kernel: RAX = ret (already truncated for 32-bit callers) */
  | { kind: "ret"; ret: bigint }
  /** KVM_EXIT_HYPERCALL with these fields; ret comes back from userspace */
  | { kind: "exit"; nr: bigint; args: bigint[]; longMode: boolean };

export function kvmHypercall(cpu: Cpu, hypercallExitEnabled: number): HypercallOutcome {
  const longMode = cpu.mode64;
  const mask = longMode ? M64 : 0xffffffffn;
  const reg = (n: number) => ((BigInt(cpu.r[2 * n + 1]! >>> 0) << 32n) | BigInt(cpu.r[2 * n]! >>> 0)) & mask;
  const nr = reg(0);
  const [a0, a1, a2] = [reg(3), reg(1), reg(2)];
  const ret = (v: bigint): HypercallOutcome => ({ kind: "ret", ret: v & mask });
  if (cpl(cpu.st) !== 0) return ret(-KVM_EPERM);
  if (nr === BigInt(KvmHc.VAPIC_POLL_IRQ)) return ret(0n);
  const mapGpa = KvmHc.MAP_GPA_RANGE;
  if (nr === BigInt(mapGpa) && (hypercallExitEnabled & KVM_EXIT_HYPERCALL_VALID_MASK & (1 << mapGpa)) !== 0) {
    // PAGE_ALIGNED(gpa), npages ≠ 0, and gfn + npages must not wrap a u64
    if (a0 % 4096n !== 0n || a1 === 0n || (a0 >> 12n) + a1 > M64) return ret(-KVM_EINVAL);
    return { kind: "exit", nr, args: [a0, a1, a2, 0n, 0n, 0n], longMode };
  }
  return ret(-KVM_ENOSYS);
}
