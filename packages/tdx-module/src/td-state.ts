// TD state: TDR (lifecycle, HKID, child count) and TDCS (op state, configuration from TD_PARAMS,
// measurement), and TDVPS per vCPU. Lives inside the module: nothing here is reachable by the host
// except through SEAMCALLs.
import { TdLifecycle, TdOpState, VcpuState } from "./abi/pages.js";
import type { MrtdStream } from "./measurement.js";
import type { SecureEpt } from "./sept.js";

export class TdState {
  lifecycle: number = TdLifecycle.TD_HKID_ASSIGNED;
  opState: number = TdOpState.OP_STATE_UNINITIALIZED;
  fatal = false;
  /** TDCS pages added by TDH.MNG.ADDCX (HPAs). */
  readonly tdcxPages: number[] = [];
  /** TDR.CHLDCNT: 4 KiB pages owned by the TD other than the TDR. */
  childCount = 0;

  // TDCS, set by TDH.MNG.INIT
  attributes = 0n;
  xfam = 0n;
  maxVcpus = 0;
  numVcpus = 0;
  numAssocVcpus = 0;
  gpaw = 48;
  /** 2^(GPAW−1): GPAs at or above are shared (kept in step with gpaw by setGpaw). */
  sharedBitValue = 2 ** 47;
  eptp = 0n;
  configFlags = 0n;
  /** CONFIG_FLAGS.NO_RBP_MOD, as a boolean for the VP.VMCALL path (set with configFlags). */
  noRbpMod = false;
  tdCtls = 0n;
  notifyEnables = 0n;
  /** units of 25 MHz */
  tscFrequency = 0;
  tscOffset = 0n;
  tscMultiplier = 0n;
  /** 12 CPUID_CONFIG slots × {EAX, EBX, ECX, EDX}, as configured (after masking). */
  readonly cpuidConfig = new Uint32Array(48);
  readonly mrConfigId = new Uint8Array(48);
  readonly mrOwner = new Uint8Array(48);
  readonly mrOwnerConfig = new Uint8Array(48);
  readonly mrtd = new Uint8Array(48);
  mrtdStream: MrtdStream | undefined;
  /**
   * The last page PAGE.ADD or MR.EXTEND touched (MR.EXTEND measures one page in 16 calls): its HPA, its
   * bytes, and ModuleContext.pageGeneration when they were fetched (a release invalidates them).
   */
  measuredPageHpa = -1;
  measuredPage: Uint8Array | undefined;
  /** The same page as int32 words (made at its first MR.EXTEND). */
  measuredWords: Int32Array | undefined;
  measuredPageGeneration = -1;
  readonly rtmr = new Uint8Array(4 * 48);
  readonly servtdHash = new Uint8Array(48);
  /** TLB-tracking epoch, bumped by TDH.MEM.TRACK. */
  epoch = 1;
  sept: SecureEpt | undefined;
  /** vCPUs in VP.INIT order (index = VCPU_INDEX). */
  readonly vcpusByIndex: VcpuStateData[] = [];
  /** Every TDVPR created for this TD. */
  readonly vcpus = new Set<VcpuStateData>();

  constructor(
    readonly tdrHpa: number,
    readonly hkid: number,
  ) {}

  get debug(): boolean {
    return (this.attributes & 1n) !== 0n;
  }
  /** Shared-bit position: GPAW − 1. */
  get sharedBit(): number {
    return this.gpaw - 1;
  }
  setGpaw(gpaw: number): void {
    this.gpaw = gpaw;
    this.sharedBitValue = 2 ** (gpaw - 1);
  }
}

/** VE_INFO slots (Int32Array indices). */
export const VeInfo = {
  EXIT_REASON: 0,
  VALID: 1,
  QUAL_LO: 2,
  QUAL_HI: 3,
  GLA_LO: 4,
  GLA_HI: 5,
  GPA_LO: 6,
  GPA_HI: 7,
  EPTP_INDEX: 8,
  INSTR_LEN: 9,
  INSTR_INFO: 10,
} as const;

export class VcpuStateData {
  state: number = VcpuState.VCPU_UNINITIALIZED;
  /** TDCX pages added by TDH.VP.ADDCX. */
  readonly tdcxPages: number[] = [];
  vcpuIndex = -1;
  associated = false;
  /** Inside TDH.VP.ENTER (its TDVPS lock is held). */
  running = false;
  /** RDX of TDH.VP.INIT: the guest's initial RCX and R8. */
  initialRcx = 0n;
  /** R8 of TDH.VP.INIT version 1: x2APIC ID. */
  x2apicId = 0;
  /** VE_INFO (see VeInfo); VALID = -1 (0xFFFFFFFF) when valid. */
  readonly veInfo = new Int32Array(11);
  /** CPUID #VE for CPL 0 (bit 0) / CPL > 0 (bit 1): TDG.VP.CPUIDVE.SET, or the TDVPS bytes below. */
  cpuidVe = 0;
  /** TDVPS CPUID_SUPERVISOR_VE and CPUID_USER_VE as bytes (TDG.VP.WR may store any byte; non-zero = on). */
  readonly cpuidVeBytes = new Uint8Array(2);
  /** Control word (RCX) of the TDG.VP.VMCALL that caused the current TD exit, or -1. */
  pendingVmcall = -1;
  /** TDVPS VCPU_STATE_DETAILS.VMXIP: a virtual interrupt is pending (set by the CPU/APIC model). */
  vmxip = false;
  /** TDVPS management PEND_NMI (host-writable): the CPU injects an NMI on the next entry. */
  pendNmi = false;
  /** Host-writable TD-VMCS fields KVM programs (posted-interrupt vector/descriptor, pin-based controls). */
  readonly vmcs = new Map<number, bigint>();

  constructor(
    readonly tdvprHpa: number,
    readonly td: TdState,
  ) {}
}
