// Loads the module's reset-vector state (tdx-abi.md §4) into a fresh x86 Cpu: 32-bit protected mode
// with flat segments, RIP 0xFFFFFFF0, EFER.LME/NXE/SCE, the initial MSRs. GPRs come from vcpu.regs
// (the executor copies them in at every entry).
import type { Cpu, Segment } from "@tdxsim/x86";
import type { SegmentInit, TdVcpuInitialState } from "../vcpu-init.js";

/** A VMX access-rights segment as the CPU's register API spells it. */
function segment(s: SegmentInit): Segment {
  const ar = s.ar;
  return {
    base: BigInt(s.base),
    limit: s.limit,
    selector: s.selector,
    type: ar & 0xf,
    s: (ar >>> 4) & 1,
    dpl: (ar >>> 5) & 3,
    present: (ar >>> 7) & 1,
    avl: (ar >>> 12) & 1,
    l: (ar >>> 13) & 1,
    db: (ar >>> 14) & 1,
    g: (ar >>> 15) & 1,
    unusable: (ar >>> 16) & 1,
  };
}

export function loadInitialState(cpu: Cpu, init: TdVcpuInitialState): void {
  const regs = cpu.getRegs();
  regs.rip = BigInt(init.rip);
  regs.rflags = BigInt(init.rflags);
  cpu.setRegs(regs);
  const sregs = cpu.getSregs();
  cpu.setSregs({
    ...sregs,
    cs: segment(init.cs),
    ds: segment(init.ds),
    es: segment(init.es),
    fs: segment(init.fs),
    gs: segment(init.gs),
    ss: segment(init.ss),
    ldt: segment(init.ldtr),
    tr: segment(init.tr),
    gdt: { base: BigInt(init.gdtr.base), limit: init.gdtr.limit },
    idt: { base: BigInt(init.idtr.base), limit: init.idtr.limit },
    // The guest sees the shadows: the real CR4 also holds VMXE, which the TD never reads.
    cr0: BigInt(init.cr0Shadow),
    cr3: BigInt(init.cr3),
    cr4: BigInt(init.cr4Shadow),
    efer: BigInt(init.efer),
  });
  for (const [index, value] of init.msrs) {
    // MSRs the core does not model (e.g. IA32_PERF_GLOBAL_CTRL) keep no state here.
    try {
      cpu.setMsr(index, value);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
}
