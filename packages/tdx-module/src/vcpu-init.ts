// The vCPU register state at the reset vector after TDH.VP.INIT (spec/tdx-abi.md §4), as data the CPU loads.
import { NATIVE_CPUID1_EAX } from "./cpuid.js";
import type { VcpuStateData } from "./td-state.js";

export interface SegmentInit {
  selector: number;
  base: number;
  limit: number;
  /** VMX access-rights format */
  ar: number;
}

export interface TdVcpuInitialState {
  rip: number;
  rflags: number;
  /** GPRs in x86 order (RAX..R15) */
  gpr: bigint[];
  cr0: number;
  /** CR0 as the guest reads it */
  cr0Shadow: number;
  cr3: number;
  /** Actual CR4 (VMXE set) and the value the guest reads (VMXE hidden). */
  cr4: number;
  cr4Shadow: number;
  efer: number;
  cs: SegmentInit;
  ds: SegmentInit;
  es: SegmentInit;
  fs: SegmentInit;
  gs: SegmentInit;
  ss: SegmentInit;
  ldtr: SegmentInit;
  tr: SegmentInit;
  gdtr: { base: number; limit: number };
  idtr: { base: number; limit: number };
  dr6: number;
  dr7: number;
  xcr0: number;
  /** MSRs with non-zero initial values (index → value). */
  msrs: Map<number, bigint>;
}

const flat = (ar: number): SegmentInit => ({ selector: 0, base: 0, limit: 0xffffffff, ar });

export function initialVcpuState(vcpu: VcpuStateData): TdVcpuInitialState {
  const gpr = new Array<bigint>(16).fill(0n);
  gpr[3] = BigInt(vcpu.td.gpaw); // RBX = GPAW
  gpr[1] = vcpu.initialRcx; // RCX
  gpr[8] = vcpu.initialRcx; // R8
  gpr[2] = BigInt(NATIVE_CPUID1_EAX); // RDX = CPUID(1).EAX sampled at TDH.SYS.INIT
  gpr[6] = BigInt(vcpu.vcpuIndex >>> 0); // RSI = VCPU_INDEX
  return {
    rip: 0xfffffff0,
    rflags: 0x2,
    gpr,
    cr0: 0x21,
    cr0Shadow: 0x21,
    cr3: 0,
    cr4: 0x2040,
    cr4Shadow: 0x40,
    efer: 0x901,
    cs: flat(0xc09b),
    ds: flat(0xc093),
    es: flat(0xc093),
    fs: flat(0xc093),
    gs: flat(0xc093),
    ss: flat(0xc093),
    ldtr: { selector: 0, base: 0, limit: 0xffff, ar: 0x10082 },
    tr: { selector: 0, base: 0, limit: 0xffff, ar: 0x8b },
    gdtr: { base: 0, limit: 0xffff },
    idtr: { base: 0, limit: 0 },
    dr6: 0xffff0ff0,
    dr7: 0x400,
    xcr0: 0x1,
    msrs: new Map<number, bigint>([
      [0x277, 0x0007040600070406n], // IA32_PAT
      [0x38f, 0xffn], // IA32_PERF_GLOBAL_CTRL
      [0xc0000084, 0x20200n], // IA32_FMASK
      [0xc0000080, 0x901n], // IA32_EFER
    ]),
  };
}
