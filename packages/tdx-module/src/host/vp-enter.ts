// TDH.VP.ENTER: resume the vCPU on the x86 core (a TdGuestExecutor the CPU package supplies) and turn
// its stop into a TD exit in the host's registers (spec/tdx-abi.md §2.1, §3.3; KVM reads RCX = exit
// qualification, RDX = extended exit qualification, R8 = GPA, R9 = interruption info).
import { SeamcallLeaf as L } from "../abi/leaves.js";
import { PageType, TdLifecycle, VcpuState } from "../abi/pages.js";
import { OperandId as Op, S } from "../abi/status.js";
import { ExitReason } from "../abi/vmx.js";
import type { ModuleContext } from "../context.js";
import type { VcpuStateData } from "../td-state.js";
import type { TdVcpu } from "../td-vcpu.js";
import { associate } from "./vp.js";

/** Why the executor returned. */
export const TdRunResult = {
  /** A TD exit: `vcpu.exit` is filled (TDCALL(VP.VMCALL), EPT violation/misconfig...). */
  TD_EXIT: 0,
  /** The instruction budget ran out (reported like an external-interrupt exit; re-entry resumes). */
  BUDGET_EXHAUSTED: 1,
  /** Triple fault: the vCPU cannot continue. */
  TRIPLE_FAULT: 2,
} as const;

/**
 * What the CPU implements. `run` executes guest code on `vcpu.regs` until a TD exit, the budget or a
 * triple fault. Inside, it handles TDCALL (vcpu.tdcall → advance RIP on COMPLETE, inject on INJECT,
 * return TD_EXIT on TD_EXIT after advancing RIP when exit.advanceRip), TLB fills (vcpu.translate →
 * #VE via vcpu.deliverEptVe, or TD_EXIT via vcpu.exitFromFault), CPUID (vcpu.cpuid) and the
 * instructions the module turns into #VE (vcpu.injectVe).
 */
export interface TdGuestExecutor {
  run(vcpu: TdVcpu, budget: number): number;
}

export interface VpEnterResult {
  /** Compact status; for a TD exit, RAX = exit reason with class 0 (TDX_SUCCESS). */
  status: number;
  /** Host registers after the exit (lo/hi int32 pairs, x86 order). */
  gpr: Int32Array;
}

/** TDH.VP.ENTER: RCX = TDVPR. `hostGpr` carries the host's answer to a pending VP.VMCALL. */
export function tdhVpEnter(
  ctx: ModuleContext,
  tdvprPa: number,
  runtime: (vcpu: VcpuStateData) => TdVcpu,
  executor: TdGuestExecutor | undefined,
  budget: number,
  hostGpr: Int32Array | undefined,
  out: Int32Array,
): number {
  const s = ctx.checkPage(tdvprPa, Op.RCX, PageType.PT_TDVPR);
  if (s !== S.TDX_SUCCESS) return s;
  const state = ctx.vcpus.get(tdvprPa)!;
  if (state.running) return S.TDX_OPERAND_BUSY + Op.RCX; // TDVPS lock (see ModuleContext.tdvpsLock)
  const td = state.td;
  if (td.fatal) return S.TDX_TD_FATAL;
  if (td.lifecycle !== TdLifecycle.TD_KEYS_CONFIGURED) return S.TDX_LIFECYCLE_STATE_INCORRECT;
  const op = ctx.opState(td, L.TDH_VP_ENTER);
  if (op !== S.TDX_SUCCESS) return op;
  if (state.state !== VcpuState.VCPU_READY && state.state !== VcpuState.VCPU_ACTIVE)
    return S.TDX_VCPU_STATE_INCORRECT;
  const vcpu = runtime(state);
  if (!executor) throw new Error("TDH.VP.ENTER: no guest executor attached (TdxModule.setGuestExecutor)");
  associate(state);
  if (vcpu.vmcallPending && hostGpr) vcpu.resumeVmcall(hostGpr);
  state.state = VcpuState.VCPU_ACTIVE;
  state.running = true;
  let result: number;
  try {
    result = executor.run(vcpu, budget);
  } finally {
    state.running = false;
  }
  const e = vcpu.exit;
  if (result === TdRunResult.TD_EXIT && e.reason === ExitReason.TDCALL) {
    // Every register comes from the exit's host view (non-exposed ones are already zero there).
    out.set(e.gpr);
    return S.TDX_SUCCESS + ExitReason.TDCALL;
  }
  out.fill(0);
  if (result === TdRunResult.TRIPLE_FAULT) {
    state.state = VcpuState.VCPU_DISABLED;
    return S.TDX_NON_RECOVERABLE_VCPU + ExitReason.TRIPLE_FAULT;
  }
  if (result === TdRunResult.BUDGET_EXHAUSTED) return S.TDX_SUCCESS + ExitReason.EXTERNAL_INTERRUPT;
  setNum(out, 1, e.exitQualification);
  setNum(out, 2, e.extExitQualification);
  setNum(out, 8, e.gpa);
  out[0] = e.reason;
  out[1] = 0;
  return S.TDX_SUCCESS + e.reason;
}

function setNum(g: Int32Array, r: number, v: number): void {
  g[2 * r] = (v % 0x1_0000_0000) | 0;
  g[2 * r + 1] = Math.floor(v / 0x1_0000_0000) | 0;
}
