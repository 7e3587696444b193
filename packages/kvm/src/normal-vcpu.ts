// A normal (KVM_X86_DEFAULT_VM) vCPU's architectural state on the @tdxsim/x86 Cpu, with the
// rules KVM applies to it from the outside: KVM_GET/SET_REGS (RFLAGS bit 1 forced; reserved bits
// kept so VM entry fails on them), KVM_GET/SET_SREGS (kvm_is_valid_sregs, apic_base, vmx_set_segment's
// normalisation, interrupt_bitmap), host- and guest-initiated MSR access, KVM_INTERRUPT / KVM_NMI,
// the kvm_run fields post_kvm_run_save() fills, and the VM-entry check after outside changes.
import {
  Cpu,
  cpl,
  DEFAULT_CONFIG,
  isMsrHandled,
  MemslotGuestPhysicalMap,
  type Regs,
  type Segment,
  type Sregs,
  Vector,
  wakesFromHlt,
  X86Exception,
} from "@tdxsim/x86";
import { KvmError } from "./errors.js";
import {
  getKvmDebugregs,
  getKvmFpu,
  getKvmXcrs,
  getKvmXsave,
  type KvmDebugregs,
  setKvmDebugregs,
  setKvmFpu,
  setKvmXcrs,
  setKvmXsave,
} from "./extra-state.js";
import {
  guestMaxPhysAddr,
  invalidGuestState,
  invalidSregs,
  normalizeSegment,
  reportSegment,
} from "./guest-state.js";
import { KvmEmulatedMsrs } from "./kvm-msrs.js";
import { KvmMsrRet, type KvmMsrRetValue } from "./msr-exits.js";
import { ifFlag, NormalRun } from "./normal-run.js";
import {
  KVM_NR_INTERRUPTS,
  type KvmFpu,
  type KvmRegs,
  type KvmSegment,
  type KvmSregs,
  type KvmVcpuEvents,
  type KvmXcrs,
  type KvmXsave,
} from "./uapi/structs.js";
import type { Vcpu } from "./vcpu.js";
import { getVcpuEvents, setVcpuEvents } from "./vcpu-events.js";

const CR4_OSXSAVE = 1 << 18;
const CR4_PKE = 1 << 22;
const APIC_BASE_EN = 1n << 11n;
/** xstate_required_size(XCR0) for x87 + SSE: the legacy area and the XSAVE header. */
const XSAVE_X87_SSE_SIZE = 512 + 64;

/** FCW after FNINIT, as in the kernel's init_fpstate. */
const FPU_INIT_FCW = 0x37f;

/** X86_EFLAGS_FIXED: KVM_SET_REGS always sets RFLAGS bit 1. */
const RFLAGS_FIXED = 2n;
/** RFLAGS bits a CPU can hold (bits 0-21 except the reserved 3, 5, 15). */
const RFLAGS_DEFINED = 0x3f7fd7n;
const SEGMENTS = ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] as const;

export class NormalVcpu {
  cpu: Cpu;
  readonly runner: NormalRun;
  /** MSRs KVM emulates itself (kvm-msrs.ts). */
  readonly kvmMsrs = new KvmEmulatedMsrs();
  /** What the last FAIL_ENTRY / SHUTDOWN / INTERNAL_ERROR exit was about, for a human. */
  lastExitDetail = "";
  /** The guest state was changed from outside since the last successful entry check. */
  private stateDirty = true;
  /** kvm_regs.rflags as set when it has bits no CPU holds (KVM keeps them; entry then fails). */
  private rawRflags: bigint | undefined;

  constructor(readonly owner: Vcpu) {
    this.cpu = this.newCpu();
    // KVM starts the guest FPU from the kernel's init_fpstate (FNINIT's FCW 0x37f), not the
    // processor's power-up FCW 0x40
    this.cpu.st.fcw = FPU_INIT_FCW;
    this.runner = new NormalRun(this);
  }

  /**
   * A core over the VM's memslots whose MAXPHYADDR is the vCPU's (cpuid_query_maxphyaddr: CPUID
   * 0x80000008 EAX[7:0], else 36), clamped to the 32..52 the core handles.
   */
  private newCpu(): Cpu {
    const owner = this.owner;
    return new Cpu({
      map: new MemslotGuestPhysicalMap(owner.vm.memory.slots, 0),
      config: { bsp: owner.id === 0, maxPhysAddr: coreMaxPhysAddr(owner) },
      // CPUID is answered from KVM_SET_CPUID2 inside the CPU; every MSR access comes to KVM (filter)
      exits: { cpuid: (leaf, subleaf) => this.cpuid(leaf, subleaf), allMsrs: true, ve: "deliver" },
    });
  }

  /**
   * KVM_SET_CPUID2 changed the model: before the first KVM_RUN a new MAXPHYADDR takes effect
   * (the state moves to a core configured for it); after it, KVM allows no change anyway.
   */
  cpuidChanged(): void {
    if (this.owner.hasRun || coreMaxPhysAddr(this.owner) === this.cpu.st.config.maxPhysAddr) return;
    const old = this.cpu;
    const cpu = this.newCpu();
    cpu.st.copyFrom(old.st);
    cpu.pending.nmi = old.pending.nmi;
    cpu.pending.irq = old.pending.irq;
    cpu.pending.shadow = old.pending.shadow;
    cpu.syncMode();
    this.cpu = cpu;
    this.stateDirty = true;
  }

  /**
   * Guest CPUID: KVM's CPUID faulting (#GP at CPL > 0), else the KVM_SET_CPUID2 model with the
   * bits kvm_update_cpuid_runtime() keeps current: CPUID.1 OSXSAVE (= CR4.OSXSAVE) and APIC
   * (= APIC_BASE.EN), CPUID.7.0 OSPKE (= CR4.PKE), CPUID.0xd.0 EBX (XSAVE size for XCR0: the core
   * has x87 + SSE only, 576 bytes). KVM writes them into the stored entries, so KVM_GET_CPUID2
   * shows them too; here they are applied when the guest asks (KVM_GET_CPUID2 shows the model as set).
   */
  private cpuid(leaf: number, subleaf: number): [number, number, number, number] {
    const st = this.cpu.st;
    if (this.kvmMsrs.cpuidFaulting && cpl(st) > 0) throw new X86Exception(Vector.GP, 0, "CPUID faulting");
    const model = this.owner.cpuidModel;
    const r = model.cpuid(leaf, subleaf);
    if (model.find(leaf, subleaf) === undefined) return r;
    const put = (reg: number, bit: number, on: boolean) => {
      r[reg] = on ? (r[reg]! | (1 << bit)) >>> 0 : (r[reg]! & ~(1 << bit)) >>> 0;
    };
    if (leaf === 1) {
      put(2, 27, (st.cr4 & CR4_OSXSAVE) !== 0);
      put(3, 9, (this.cpu.getMsr(0x1b) & APIC_BASE_EN) !== 0n);
    } else if (leaf === 7 && subleaf === 0) put(2, 4, (st.cr4 & CR4_PKE) !== 0);
    else if (leaf === 0xd && subleaf === 0) r[1] = XSAVE_X87_SSE_SIZE;
    return r;
  }

  // ---- KVM_GET/SET_REGS ----

  getRegs(): KvmRegs {
    const r = this.cpu.getRegs();
    return { ...r, rflags: this.rawRflags ?? r.rflags };
  }

  setRegs(regs: KvmRegs): void {
    const rflags = regs.rflags | RFLAGS_FIXED;
    const current = this.cpu.getRegs().rip;
    if (regs.rip !== current) this.runner.dropPioCompletion();
    this.rawRflags = (rflags & ~RFLAGS_DEFINED) !== 0n ? rflags : undefined;
    this.cpu.setRegs({ ...(regs as Regs), rflags: rflags & RFLAGS_DEFINED });
    this.stateDirty = true;
  }

  // ---- KVM_GET/SET_SREGS ----

  getSregs(): KvmSregs {
    const s = this.cpu.getSregs();
    const bitmap = [0n, 0n, 0n, 0n];
    const irq = this.cpu.pending.irq;
    if (irq >= 0) bitmap[irq >> 6] = 1n << BigInt(irq & 63);
    const seg = (x: Segment): KvmSegment => ({ ...reportSegment(x), padding: 0 });
    const dt = (t: { base: bigint; limit: number }) => ({ base: t.base, limit: t.limit, padding: [0, 0, 0] });
    return {
      cs: seg(s.cs),
      ds: seg(s.ds),
      es: seg(s.es),
      fs: seg(s.fs),
      gs: seg(s.gs),
      ss: seg(s.ss),
      tr: seg(s.tr),
      ldt: seg(s.ldt),
      gdt: dt(s.gdt),
      idt: dt(s.idt),
      cr0: s.cr0,
      cr2: s.cr2,
      cr3: s.cr3,
      cr4: s.cr4,
      cr8: s.cr8,
      efer: s.efer,
      apic_base: s.apicBase,
      interrupt_bitmap: bitmap,
    };
  }

  setSregs(k: KvmSregs): void {
    const sregs: Sregs = {
      cs: normalizeSegment(k.cs, false),
      ds: normalizeSegment(k.ds, false),
      es: normalizeSegment(k.es, false),
      fs: normalizeSegment(k.fs, false),
      gs: normalizeSegment(k.gs, false),
      ss: normalizeSegment(k.ss, false),
      tr: normalizeSegment(k.tr, false),
      ldt: normalizeSegment(k.ldt, true),
      gdt: { base: k.gdt.base, limit: k.gdt.limit },
      idt: { base: k.idt.base, limit: k.idt.limit },
      cr0: k.cr0,
      cr2: k.cr2,
      cr3: k.cr3,
      cr4: k.cr4,
      // kvm_set_cr8() refuses reserved bits and __set_sregs_common ignores that: CR8 stays
      cr8: k.cr8 > 15n ? BigInt(this.cpu.st.cr8) : k.cr8,
      efer: k.efer,
      apicBase: k.apic_base,
    };
    for (const name of SEGMENTS) {
      const s = sregs[name];
      delete (s as Partial<KvmSegment>).padding;
    }
    const oldApicBase = this.cpu.getMsr(0x1b);
    const bad = invalidSregs(sregs, this.owner.cpuidModel, DEFAULT_CONFIG.cr4Supported, oldApicBase);
    if (bad) throw new KvmError("EINVAL", `KVM_SET_SREGS: ${bad}`, { field: "kvm_sregs" });
    const vector = firstSetBit(k.interrupt_bitmap);
    if (vector !== undefined && vector < 32) {
      throw new KvmError(
        "EINVAL",
        `kvm_sregs.interrupt_bitmap queues vector ${vector}: the simulated CPU injects external interrupts 32..255 only`,
        { field: "kvm_sregs.interrupt_bitmap" },
      );
    }
    try {
      this.cpu.setSregs(sregs);
    } catch (e) {
      if (e instanceof RangeError)
        throw new KvmError("EINVAL", `KVM_SET_SREGS: ${e.message}`, { field: "kvm_sregs" });
      throw e;
    }
    if (vector !== undefined) this.cpu.injectInterrupt(vector);
    this.cpu.mmu.flushAll(); // KVM_SET_SREGS resets the MMU context: no stale translations
    this.stateDirty = true;
  }

  // ---- MSRs ----

  /**
   * An RDMSR (value undefined) or WRMSR: the core's MSRs, then the ones KVM emulates itself; the
   * value read, or KVM's failure code (UNSUPPORTED for MSRs neither knows).
   */
  accessMsr(index: number, value: bigint | undefined, hostInitiated = false): bigint | KvmMsrRetValue {
    if (!isMsrHandled(index)) {
      const k = this.kvmMsrs;
      if (!k.has(index)) return KvmMsrRet.UNSUPPORTED;
      if (value === undefined) return k.get(index) ?? KvmMsrRet.ERROR;
      return k.set(index, value, hostInitiated, guestMaxPhysAddr(this.owner.cpuidModel))
        ? 0n
        : KvmMsrRet.ERROR;
    }
    try {
      if (value === undefined) return this.cpu.getMsr(index);
      this.cpu.setMsr(index, value);
      return 0n;
    } catch (e) {
      if (e instanceof RangeError) return KvmMsrRet.ERROR;
      throw e;
    }
  }

  /** Host-initiated KVM_GET_MSRS / KVM_SET_MSRS entry: true if processed. */
  hostMsr(index: number, write: bigint | undefined): bigint | undefined {
    const r = this.accessMsr(index, write, true);
    if (typeof r !== "bigint") return undefined;
    if (write !== undefined) this.stateDirty = true;
    return r;
  }

  // ---- events ----

  /** KVM_INTERRUPT with a userspace irqchip: queue the vector (it replaces a queued one). */
  interrupt(irq: number): void {
    if (!Number.isInteger(irq) || irq < 0 || irq >= KVM_NR_INTERRUPTS)
      throw new KvmError("EINVAL", `kvm_interrupt.irq ${irq} ≥ KVM_NR_INTERRUPTS (256)`, {
        field: "kvm_interrupt.irq",
      });
    const mode = this.owner.vm.irqchipMode;
    if (mode === "kernel")
      throw new KvmError("ENXIO", "KVM_INTERRUPT with an in-kernel PIC: interrupts come from it");
    if (mode === "split" && this.cpu.pending.irq >= 0)
      throw new KvmError("EEXIST", "KVM_INTERRUPT: an ExtINT vector is already pending");
    if (irq < 32) {
      throw new KvmError(
        "EINVAL",
        `kvm_interrupt.irq ${irq}: the simulated CPU injects external interrupts 32..255 only`,
        { field: "kvm_interrupt.irq" },
      );
    }
    this.cpu.injectInterrupt(irq);
  }

  nmi(): void {
    this.cpu.injectNmi();
  }

  /** Something that ends a HLT is pending (an NMI, or an interrupt with IF = 1). */
  eventPending(): boolean {
    return wakesFromHlt(this.cpu.st, this.cpu.pending);
  }

  // ---- KVM_RUN plumbing ----

  /**
   * The reason VM entry fails after outside changes (checked once per change), or undefined.
   * An outside change is also when a VMM has typically just written guest code: the CPU's
   * decoded blocks cannot see host writes to guest RAM, so they are dropped here (the hot
   * KVM_RUN → exit → KVM_RUN path does not pay for it).
   */
  entryCheck(): string | undefined {
    if (!this.stateDirty) return undefined;
    this.cpu.flushDecodedBlocks();
    const sregs = this.getSregs();
    const regs = this.getRegs();
    const bad = invalidGuestState(
      { ...sregs, apicBase: sregs.apic_base },
      regs.rip,
      regs.rflags,
      DEFAULT_CONFIG.linearAddressBits,
    );
    if (bad === undefined) this.stateDirty = false;
    return bad;
  }

  /** post_kvm_run_save(): if_flag, cr8, apic_base, ready_for_interrupt_injection, flags. */
  saveRunState(): void {
    const run = this.owner.run;
    const cpu = this.cpu;
    const iff = ifFlag(cpu);
    run.ifFlag = iff;
    run.cr8 = BigInt(cpu.st.cr8);
    run.apicBase = cpu.getMsr(0x1b);
    run.readyForInterruptInjection = this.readyForInterrupt() ? 1 : 0;
    run.flags = 0;
  }

  /**
   * kvm_vcpu_ready_for_interrupt_injection(): IF = 1, no STI/MOV SS shadow, and no interrupt
   * already queued for injection.
   */
  readyForInterrupt(): boolean {
    const p = this.cpu.pending;
    return ifFlag(this.cpu) === 1 && p.shadow === 0 && p.irq < 0;
  }

  // ---- KVM_GET/SET_VCPU_EVENTS (vcpu-events.ts) ----

  getVcpuEvents(): KvmVcpuEvents {
    return getVcpuEvents(this.cpu, this.runner.queuedException);
  }

  setVcpuEvents(events: KvmVcpuEvents): void {
    this.runner.queuedException = setVcpuEvents(this.cpu, events);
  }

  // ---- KVM_GET/SET_FPU, KVM_GET/SET_XCRS, KVM_GET/SET_DEBUGREGS (extra-state.ts) ----

  getFpu(): KvmFpu {
    return getKvmFpu(this.cpu.st);
  }

  setFpu(fpu: KvmFpu): void {
    setKvmFpu(this.cpu.st, fpu);
  }

  getXcrs(): KvmXcrs {
    return getKvmXcrs(this.cpu.st);
  }

  setXcrs(xcrs: KvmXcrs): void {
    setKvmXcrs(this.cpu.st, xcrs, this.owner.cpuidModel);
  }

  getXsave(): KvmXsave {
    return getKvmXsave(this.cpu.st);
  }

  setXsave(xsave: KvmXsave): void {
    setKvmXsave(this.cpu.st, xsave, this.owner.cpuidModel);
  }

  getDebugRegs(): KvmDebugregs {
    return getKvmDebugregs(this.cpu.st);
  }

  setDebugRegs(regs: KvmDebugregs): void {
    setKvmDebugregs(this.cpu.st, regs);
  }

  /** End the CPU's pending exit without effect (its completion was dropped). */
  abandonExit(): void {
    if (this.cpu.pendingExit !== undefined) this.cpu.skipInstruction();
  }
}

function coreMaxPhysAddr(owner: Vcpu): number {
  return Math.min(52, Math.max(32, guestMaxPhysAddr(owner.cpuidModel)));
}

function firstSetBit(words: readonly bigint[]): number | undefined {
  for (let w = 0; w < words.length; w++) {
    const v = words[w]!;
    if (v === 0n) continue;
    for (let b = 0; b < 64; b++) if ((v >> BigInt(b)) & 1n) return w * 64 + b;
  }
  return undefined;
}
