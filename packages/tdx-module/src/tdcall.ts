// TDCALL guest leaves (TDG.*), run when the CPU stops on a TDCALL: the handler reads and writes the
// guest registers through TdGuestRegs and returns what the CPU does next (TdcallOutcome).
import { TdcallLeaf as T } from "./abi/leaves.js";
import { levelSize, SeptState } from "./abi/pages.js";
import { OperandId as Op, S, statusHi, statusLo } from "./abi/status.js";
import { ExitReason, ExtExitQualType, Vector } from "./abi/vmx.js";
import type { ModuleContext } from "./context.js";
import { getReg, regNum, setReg, type TdGuestRegs } from "./guest-regs.js";
import { buildTdReport, extendRtmr, verifyReportMac } from "./measurement.js";
import { firstTdFieldId, tdFieldRead, tdFieldWrite } from "./metadata-access.js";
import { isLeafState, isNonLeafState, SeptWalk } from "./sept.js";
import { FaultKind, injectVe, RWX_PERMS, type TdMemory } from "./td-memory.js";
import { type VcpuStateData, VeInfo } from "./td-state.js";
import { firstVpGuestFieldId, vpGuestFieldRead, vpGuestFieldWrite } from "./vp-guest-fields.js";

export const TdcallOutcome = {
  /** Status is in RAX: the CPU advances RIP past TDCALL and continues. */
  COMPLETE: 0,
  /** TD exit to the host (see TdExit). The CPU advances RIP first when `exit.advanceRip`. */
  TD_EXIT: 1,
  /** Deliver exception `exit.vector` (#GP(0), #VE or #DF); RIP stays on TDCALL. */
  INJECT: 2,
  /**
   * An interrupt became pending during an interruptible leaf (2 MiB ACCEPT): RAX and RIP unchanged,
   * the TDCALL re-executes (after the interrupt) and continues where it stopped.
   */
  INTERRUPTED: 3,
} as const;

/** The last TD exit (or injection) a TDCALL produced; reused, one per vCPU. */
export class TdExit {
  /** VMX basic exit reason (77 TDCALL, 48 EPT violation...). */
  reason = 0;
  advanceRip = false;
  exitQualification = 0;
  extExitQualification = 0;
  gpa = 0;
  /** Exception vector for INJECT. */
  vector = 0;
  /** For TDCALL(VP.VMCALL): the host view of the GPRs (non-exposed ones zero) and XMMs. */
  readonly gpr = new Int32Array(32);
  readonly xmm = new Int32Array(64);
}

const GPR_FORBIDDEN = (1 << 0) | (1 << 1) | (1 << 4); // RAX, RCX, RSP

function complete(regs: TdGuestRegs, status: number): number {
  regs.gpr[0] = statusLo(status) | 0;
  regs.gpr[1] = statusHi(status) | 0;
  return TdcallOutcome.COMPLETE;
}
function zero(regs: TdGuestRegs, r: number): void {
  regs.gpr[2 * r] = 0;
  regs.gpr[2 * r + 1] = 0;
}

const walk = new SeptWalk();

export class TdcallHandler {
  /**
   * Asked by interruptible leaves after each unit of work: true when an interrupt is pending. The
   * default sees the vCPU's pending virtual interrupt (VMXIP); the x86 executor adds its instruction
   * budget, the simulator's stand-in for a host interrupt. UNCONFIRMED which sources 1.5 checks.
   */
  interruptPending: () => boolean = () => this.vcpu.vmxip;

  constructor(
    private readonly ctx: ModuleContext,
    private readonly vcpu: VcpuStateData,
    private readonly memory: TdMemory,
    readonly exit: TdExit,
  ) {}

  /** Runs the TDCALL in guest RAX. */
  tdcall(regs: TdGuestRegs): number {
    if (!regs.longMode64 || regs.cpl !== 0) return this.inject(Vector.GP);
    const g = regs.gpr;
    const raxLo = g[0];
    const leaf = raxLo & 0xffff;
    const version = (raxLo >>> 16) & 0xff;
    if (g[1] !== 0 || raxLo >>> 24 !== 0) return complete(regs, S.TDX_OPERAND_INVALID + Op.RAX);
    if (version > (leaf === T.TDG_VM_RD ? 1 : 0)) return complete(regs, S.TDX_OPERAND_INVALID + Op.RAX);
    switch (leaf) {
      case T.TDG_VP_VMCALL:
        return this.vpVmcall(regs);
      case T.TDG_VP_INFO:
        return this.vpInfo(regs);
      case T.TDG_MR_RTMR_EXTEND:
        return this.rtmrExtend(regs);
      case T.TDG_VP_VEINFO_GET:
        return this.veinfoGet(regs);
      case T.TDG_MR_REPORT:
        return this.mrReport(regs);
      case T.TDG_VP_CPUIDVE_SET:
        return this.cpuidveSet(regs);
      case T.TDG_MEM_PAGE_ACCEPT:
        return this.pageAccept(regs);
      case T.TDG_VM_RD:
        return this.vmRd(regs, version);
      case T.TDG_VM_WR:
        return this.vmWr(regs);
      case T.TDG_VP_RD:
        return this.vpRd(regs);
      case T.TDG_VP_WR:
        return this.vpWr(regs);
      case T.TDG_SYS_RD:
        return this.sysRd(regs);
      case T.TDG_MR_VERIFYREPORT:
        return this.verifyReport(regs);
      default:
        // Includes TDG.SYS.RDALL and the L2/service-TD leaves, which this module does not implement.
        return complete(regs, S.TDX_OPERAND_INVALID + Op.RAX);
    }
  }

  private inject(vector: number): number {
    this.exit.vector = vector;
    return TdcallOutcome.INJECT;
  }

  /** TDG.VP.VMCALL: validate the exposure bitmap, then a synchronous TD exit with exposed registers. */
  private vpVmcall(regs: TdGuestRegs): number {
    const g = regs.gpr;
    const control = g[2];
    const td = this.vcpu.td;
    const gprSelect = control & 0xffff;
    let forbidden = GPR_FORBIDDEN;
    if (td.noRbpMod) forbidden |= 1 << 5;
    if (g[3] !== 0 || (gprSelect & forbidden) !== 0) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    const e = this.exit;
    const hg = e.gpr;
    hg[0] = ExitReason.TDCALL;
    hg[1] = 0;
    hg[2] = control;
    hg[3] = 0;
    for (let r = 2; r < 16; r++) {
      const exposed = (gprSelect >>> r) & 1;
      hg[2 * r] = exposed ? g[2 * r] : 0;
      hg[2 * r + 1] = exposed ? g[2 * r + 1] : 0;
    }
    const xmmSelect = control >>> 16;
    if (xmmSelect === 0) e.xmm.fill(0);
    else
      for (let x = 0; x < 16; x++) {
        const exposed = (xmmSelect >>> x) & 1;
        for (let k = 0; k < 4; k++) e.xmm[4 * x + k] = exposed ? regs.xmm[4 * x + k] : 0;
      }
    e.reason = ExitReason.TDCALL;
    e.advanceRip = true;
    e.exitQualification = 0;
    e.extExitQualification = 0;
    e.gpa = 0;
    this.vcpu.pendingVmcall = control;
    return TdcallOutcome.TD_EXIT;
  }

  /**
   * Re-entry after a VP.VMCALL exit (TDH.VP.ENTER): RAX = 0, RCX = the control word, exposed GPRs and
   * XMMs from the host's registers; the others keep their values.
   */
  resumeVmcall(regs: TdGuestRegs, hostGpr: Int32Array, hostXmm?: Int32Array): void {
    const control = this.vcpu.pendingVmcall;
    if (control === -1) return;
    this.vcpu.pendingVmcall = -1;
    const g = regs.gpr;
    g[0] = 0;
    g[1] = 0;
    g[2] = control;
    g[3] = 0;
    const gprSelect = control & 0xffff;
    for (let r = 2; r < 16; r++) {
      if ((gprSelect >>> r) & 1 && r !== 4) {
        g[2 * r] = hostGpr[2 * r];
        g[2 * r + 1] = hostGpr[2 * r + 1];
      }
    }
    if (hostXmm) {
      const xmmSelect = control >>> 16;
      for (let x = 0; x < 16; x++)
        if ((xmmSelect >>> x) & 1) for (let k = 0; k < 4; k++) regs.xmm[4 * x + k] = hostXmm[4 * x + k];
    }
  }

  private vpInfo(regs: TdGuestRegs): number {
    const td = this.vcpu.td;
    const g = regs.gpr;
    g[2] = td.gpaw;
    g[3] = 0;
    setReg(g, 2, td.attributes);
    g[16] = td.numVcpus;
    g[17] = td.maxVcpus;
    g[18] = this.vcpu.vcpuIndex;
    g[19] = 0;
    g[20] = 1; // TDG.SYS.RD/RDALL available
    g[21] = 0;
    g[22] = 0;
    g[23] = 0;
    return complete(regs, S.TDX_SUCCESS);
  }

  /**
   * Reads/writes guest memory for a TDCALL operand. Returns the page, or a negative outcome code
   * (−1 − outcome) after setting up the #VE / TD exit.
   */
  private guestPage(
    gpa: number,
    write: boolean,
    privateOnly: boolean,
    operand: number,
    regs: TdGuestRegs,
  ): Uint8Array | number {
    const td = this.vcpu.td;
    if (!Number.isFinite(gpa) || gpa >= 2 * td.sharedBitValue || (privateOnly && gpa >= td.sharedBitValue))
      return -1 - complete(regs, S.TDX_OPERAND_INVALID + operand);
    const page = this.memory.translate(gpa, write ? 3 : 1);
    if (page) return page;
    const f = this.memory.fault;
    if (f.kind === FaultKind.VE) {
      const vector = injectVe(this.vcpu, ExitReason.EPT_VIOLATION, f.exitQualification, 0, 0, f.gpa, 0, 0);
      return -1 - this.inject(vector);
    }
    if (f.kind === FaultKind.EPT_VIOLATION || f.kind === FaultKind.EPT_MISCONFIG) {
      const e = this.exit;
      e.reason = f.kind === FaultKind.EPT_VIOLATION ? ExitReason.EPT_VIOLATION : ExitReason.EPT_MISCONFIG;
      e.advanceRip = false;
      e.exitQualification = f.exitQualification;
      e.extExitQualification = f.extExitQualification;
      e.gpa = f.gpa;
      return -1 - TdcallOutcome.TD_EXIT;
    }
    return -1 - complete(regs, S.TDX_OPERAND_INVALID + operand);
  }

  private rtmrExtend(regs: TdGuestRegs): number {
    const g = regs.gpr;
    const gpa = regNum(g, Op.RCX);
    if (!(gpa % 64 === 0)) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    const page = this.guestPage(gpa, false, true, Op.RCX, regs);
    if (typeof page === "number") return -1 - page;
    if (g[2 * Op.RDX + 1] !== 0 || g[2 * Op.RDX] >>> 0 >= 4)
      return complete(regs, S.TDX_OPERAND_INVALID + Op.RDX);
    const off = gpa % 4096;
    extendRtmr(this.ctx.hash, this.vcpu.td, g[2 * Op.RDX], page.slice(off, off + 48));
    return complete(regs, S.TDX_SUCCESS);
  }

  private veinfoGet(regs: TdGuestRegs): number {
    const ve = this.vcpu.veInfo;
    const g = regs.gpr;
    for (const r of [Op.RCX, Op.RDX, Op.R8, Op.R9, Op.R10]) zero(regs, r);
    if (ve[VeInfo.VALID] === 0) return complete(regs, S.TDX_NO_VALID_VE_INFO);
    g[2] = ve[VeInfo.EXIT_REASON];
    g[4] = ve[VeInfo.QUAL_LO];
    g[5] = ve[VeInfo.QUAL_HI];
    g[16] = ve[VeInfo.GLA_LO];
    g[17] = ve[VeInfo.GLA_HI];
    g[18] = ve[VeInfo.GPA_LO];
    g[19] = ve[VeInfo.GPA_HI];
    g[20] = ve[VeInfo.INSTR_LEN];
    g[21] = ve[VeInfo.INSTR_INFO];
    ve[VeInfo.VALID] = 0;
    return complete(regs, S.TDX_SUCCESS);
  }

  private mrReport(regs: TdGuestRegs): number {
    const g = regs.gpr;
    const reportGpa = regNum(g, Op.RCX);
    const dataGpa = regNum(g, Op.RDX);
    if (!(reportGpa % 1024 === 0)) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    if (!(dataGpa % 64 === 0)) return complete(regs, S.TDX_OPERAND_INVALID + Op.RDX);
    if (g[16] !== 0 || g[17] !== 0) return complete(regs, S.TDX_OPERAND_INVALID + Op.R8);
    const dataPage = this.guestPage(dataGpa, false, false, Op.RDX, regs);
    if (typeof dataPage === "number") return -1 - dataPage;
    const reportData = dataPage.slice(dataGpa % 4096, (dataGpa % 4096) + 64);
    const outPage = this.guestPage(reportGpa, true, false, Op.RCX, regs);
    if (typeof outPage === "number") return -1 - outPage;
    const report = buildTdReport(this.ctx.hash, this.vcpu.td, reportData, this.ctx.platform);
    outPage.set(report, reportGpa % 4096);
    return complete(regs, S.TDX_SUCCESS);
  }

  /**
   * TDG.MR.VERIFYREPORT: RCX = GPA of a 256-byte REPORTMACSTRUCT (256-aligned, private). Checks the
   * simulated MAC and the CPUSVN against this platform's.
   */
  private verifyReport(regs: TdGuestRegs): number {
    const gpa = regNum(regs.gpr, Op.RCX);
    if (!(gpa % 256 === 0)) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    const page = this.guestPage(gpa, false, true, Op.RCX, regs);
    if (typeof page === "number") return -1 - page;
    const mac = page.subarray(gpa % 4096, (gpa % 4096) + 256);
    const cpuSvn = this.ctx.platform.cpuSvn;
    for (let i = 0; i < 16; i++) if (mac[16 + i] !== cpuSvn[i]) return complete(regs, S.TDX_INVALID_CPUSVN);
    if (!verifyReportMac(this.ctx.hash, this.ctx.platform, mac))
      return complete(regs, S.TDX_INVALID_REPORTMACSTRUCT);
    return complete(regs, S.TDX_SUCCESS);
  }

  private cpuidveSet(regs: TdGuestRegs): number {
    const g = regs.gpr;
    if (g[3] !== 0 || (g[2] & ~3) !== 0) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    this.vcpu.cpuidVe = g[2] & 3;
    this.vcpu.cpuidVeBytes[0] = g[2] & 1;
    this.vcpu.cpuidVeBytes[1] = (g[2] >>> 1) & 1;
    return complete(regs, S.TDX_SUCCESS);
  }

  /** TDG.MEM.PAGE.ACCEPT: RCX = GPA | level (0 = 4 KiB, 1 = 2 MiB). */
  private pageAccept(regs: TdGuestRegs): number {
    const g = regs.gpr;
    const lo = g[2] >>> 0;
    const hi = g[3] >>> 0;
    const level = lo & 7;
    const td = this.vcpu.td;
    if ((lo & 0xff8) !== 0 || hi >>> 20 !== 0 || level > 1)
      return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    const gpa = hi * 0x1_0000_0000 + (lo - (lo & 0xfff));
    if (gpa % levelSize(level) !== 0 || gpa >= td.sharedBitValue)
      return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    const sept = td.sept!;
    sept.walk(gpa, level, walk);
    const state = walk.state;
    if (walk.level === level) {
      if (state === SeptState.PENDING) {
        if (level === 1) {
          // 512 pages, resumable: the SEPT entry's counter says how many are done; an interrupt
          // pending after a page leaves the rest to the re-executed TDCALL (at least one page per call).
          const table = walk.table;
          const index = walk.index;
          let done = table.acceptCounter[index];
          for (;;) {
            this.ctx.priv.initPage(walk.hpa + 4096 * done, td.hkid);
            if (done === 511) break;
            done++;
            if (this.interruptPending()) {
              table.acceptCounter[index] = done;
              return TdcallOutcome.INTERRUPTED;
            }
          }
        } else this.ctx.priv.initPage(walk.hpa, td.hkid);
        sept.setState(walk.table, walk.index, SeptState.MAPPED);
        return complete(regs, S.TDX_SUCCESS);
      }
      if (state === SeptState.MAPPED) return complete(regs, S.TDX_PAGE_ALREADY_ACCEPTED + level);
      // A non-free, non-leaf entry at the requested size (the range is mapped by a smaller SEPT page).
      if (isNonLeafState(state)) return complete(regs, S.TDX_PAGE_SIZE_MISMATCH + level);
    } else if (state === SeptState.MAPPED) {
      return complete(regs, S.TDX_PAGE_ALREADY_ACCEPTED + walk.level);
    }
    // Not acceptable: TD exit (EPT violation, extended qualification ACCEPT); RIP stays on TDCALL.
    const e = this.exit;
    e.reason = ExitReason.EPT_VIOLATION;
    e.advanceRip = false;
    e.exitQualification = 2 | (state === SeptState.MAPPED ? RWX_PERMS : 0);
    const info = level | (walk.level << 3) | ((state & 0xff) << 6) | (isLeafState(state) ? 1 << 14 : 0);
    e.extExitQualification = ExtExitQualType.ACCEPT + info * 0x1_0000_0000;
    e.gpa = gpa;
    return TdcallOutcome.TD_EXIT;
  }

  private vmRd(regs: TdGuestRegs, version: number): number {
    const g = regs.gpr;
    if (g[2] !== 0 || g[3] !== 0) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    const id = getReg(g, Op.RDX);
    const td = this.vcpu.td;
    zero(regs, Op.R8);
    if (version === 1 && (id | (7n << 52n)) === 0xffff_ffff_ffff_ffffn) {
      setReg(g, Op.RDX, firstTdFieldId());
      return complete(regs, S.TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT);
    }
    const r = tdFieldRead(td, id, "guest");
    if (r.status === S.TDX_SUCCESS) setReg(g, Op.R8, r.value);
    if (version === 1) setReg(g, Op.RDX, r.next);
    return complete(regs, r.status);
  }

  private vmWr(regs: TdGuestRegs): number {
    const g = regs.gpr;
    if (g[2] !== 0 || g[3] !== 0) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    const r = tdFieldWrite(this.vcpu.td, getReg(g, Op.RDX), getReg(g, Op.R8), getReg(g, Op.R9), "guest");
    if (r.status === S.TDX_SUCCESS) setReg(g, Op.R8, r.value);
    else zero(regs, Op.R8);
    return complete(regs, r.status);
  }

  /** TDG.VP.RD: RCX = 0, RDX = field id → R8 = value, RDX = next field id (−1 on error). */
  private vpRd(regs: TdGuestRegs): number {
    const g = regs.gpr;
    const id = getReg(g, Op.RDX);
    setReg(g, Op.RDX, -1n);
    zero(regs, Op.R8);
    if (g[2] !== 0 || g[3] !== 0) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    // A null field id (all ones apart from the context code) asks for the first field.
    if ((id | (7n << 52n)) === 0xffff_ffff_ffff_ffffn) {
      setReg(g, Op.RDX, firstVpGuestFieldId());
      return complete(regs, S.TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT);
    }
    const r = vpGuestFieldRead(this.vcpu, id);
    if (r.status === S.TDX_SUCCESS) {
      setReg(g, Op.R8, r.value);
      setReg(g, Op.RDX, r.next);
    }
    return complete(regs, r.status);
  }

  /** TDG.VP.WR: RCX = 0, RDX = field id, R8 = value, R9 = write mask → R8 = old value (0 on error). */
  private vpWr(regs: TdGuestRegs): number {
    const g = regs.gpr;
    const id = getReg(g, Op.RDX);
    const value = getReg(g, Op.R8);
    zero(regs, Op.R8);
    if (g[2] !== 0 || g[3] !== 0) return complete(regs, S.TDX_OPERAND_INVALID + Op.RCX);
    const r = vpGuestFieldWrite(this.vcpu, id, value, getReg(g, Op.R9));
    if (r.status === S.TDX_SUCCESS) setReg(g, Op.R8, r.value);
    return complete(regs, r.status);
  }

  private sysRd(regs: TdGuestRegs): number {
    const g = regs.gpr;
    const r = this.ctx.sys.read(getReg(g, Op.RDX));
    setReg(g, Op.R8, r.value);
    setReg(g, Op.RDX, r.next);
    return complete(regs, r.status);
  }
}
