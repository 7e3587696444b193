// A normal (KVM_X86_DEFAULT_VM) vCPU's architectural state on the @tdxsim/x86 Cpu, with the
// rules KVM applies to it from the outside: KVM_GET/SET_REGS (RFLAGS bit 1 forced; reserved bits
// kept so VM entry fails on them), KVM_GET/SET_SREGS (kvm_is_valid_sregs, apic_base, vmx_set_segment's
// normalisation, interrupt_bitmap), host- and guest-initiated MSR access, KVM_INTERRUPT / KVM_NMI,
// the kvm_run fields post_kvm_run_save() fills, and the VM-entry check after outside changes.
import {
  Cpu,
  cpl,
  DEFAULT_CONFIG,
  getDebugRegs,
  isMsrHandled,
  MemslotGuestPhysicalMap,
  MXCSR_MASK,
  type Regs,
  type Segment,
  type Sregs,
  setDebugRegs,
  Vector,
  wakesFromHlt,
  X86Exception,
} from "@tdxsim/x86";
import { KvmError } from "./errors.js";
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
  KVM_MAX_XCRS,
  KVM_NR_INTERRUPTS,
  type KvmFpu,
  type KvmRegs,
  type KvmSegment,
  type KvmSregs,
  type KvmXcrs,
  type kvmDebugregs,
} from "./uapi/structs.js";
import type { Vcpu } from "./vcpu.js";

export type KvmDebugregs = ReturnType<typeof kvmDebugregs.zero>;

/** FCW after FNINIT, as in the kernel's init_fpstate. */
const FPU_INIT_FCW = 0x37f;
/** Offset of ST0 in the FXSAVE image (x87Image keeps the image's layout). */
const FXSAVE_ST0 = 32;

/** X86_EFLAGS_FIXED: KVM_SET_REGS always sets RFLAGS bit 1. */
const RFLAGS_FIXED = 2n;
/** RFLAGS bits a CPU can hold (bits 0-21 except the reserved 3, 5, 15). */
const RFLAGS_DEFINED = 0x3f7fd7n;
const SEGMENTS = ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] as const;

export class NormalVcpu {
  readonly cpu: Cpu;
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
    this.cpu = new Cpu({
      map: new MemslotGuestPhysicalMap(owner.vm.memory.slots, 0),
      config: { bsp: owner.id === 0 },
      // CPUID is answered from KVM_SET_CPUID2 inside the CPU; every MSR access comes to KVM (filter)
      exits: {
        cpuid: (leaf, subleaf) => this.cpuid(leaf, subleaf),
        allMsrs: true,
        ve: "deliver",
      },
    });
    // KVM starts the guest FPU from the kernel's init_fpstate (FNINIT's FCW 0x37f), not the
    // processor's power-up FCW 0x40
    this.cpu.st.fcw = FPU_INIT_FCW;
    this.runner = new NormalRun(this);
  }

  /** Guest CPUID: KVM's CPUID faulting (#GP at CPL > 0), else the KVM_SET_CPUID2 model. */
  private cpuid(leaf: number, subleaf: number): [number, number, number, number] {
    if (this.kvmMsrs.cpuidFaulting && cpl(this.cpu.st) > 0)
      throw new X86Exception(Vector.GP, 0, "CPUID faulting");
    return this.owner.cpuidModel.cpuid(leaf, subleaf);
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
      cr8: k.cr8,
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

  // ---- KVM_GET/SET_FPU (the FXSAVE image: x87 state carried raw, XMM0-15, MXCSR) ----

  getFpu(): KvmFpu {
    const st = this.cpu.st;
    const img = st.x87Image;
    const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
    const xmm = new Uint8Array(256);
    new Int32Array(xmm.buffer).set(st.xmm.i32.subarray(0, 64));
    return {
      fpr: img.slice(FXSAVE_ST0, FXSAVE_ST0 + 128),
      fcw: st.fcw,
      fsw: v.getUint16(2, true),
      ftwx: img[4]!,
      pad1: 0,
      last_opcode: v.getUint16(6, true),
      last_ip: v.getBigUint64(8, true),
      last_dp: v.getBigUint64(16, true),
      xmm,
      mxcsr: st.mxcsr,
      pad2: 0,
    };
  }

  /** KVM copies the fields into the FXSAVE image; an MXCSR the CPU would #GP on is refused here. */
  setFpu(f: KvmFpu): void {
    if ((f.mxcsr & ~MXCSR_MASK) !== 0) {
      throw new KvmError(
        "EINVAL",
        `kvm_fpu.mxcsr 0x${f.mxcsr.toString(16)} sets reserved bits (MXCSR_MASK 0xffff)`,
        {
          field: "kvm_fpu.mxcsr",
        },
      );
    }
    const st = this.cpu.st;
    const img = st.x87Image;
    const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
    img.set(f.fpr.subarray(0, 128), FXSAVE_ST0);
    v.setUint16(2, f.fsw, true);
    img[4] = f.ftwx;
    v.setUint16(6, f.last_opcode, true);
    v.setBigUint64(8, f.last_ip, true);
    v.setBigUint64(16, f.last_dp, true);
    st.fcw = f.fcw;
    st.mxcsr = f.mxcsr;
    const xmm = new Uint8Array(256);
    xmm.set(f.xmm.subarray(0, 256));
    st.xmm.i32.set(new Int32Array(xmm.buffer));
  }

  // ---- KVM_GET/SET_XCRS ----

  /** kvm_vcpu_ioctl_x86_get_xcrs: one XCR, XCR0. */
  getXcrs(): KvmXcrs {
    const xcrs = [{ xcr: 0, reserved: 0, value: BigInt(this.cpu.st.xcr0 >>> 0) }];
    return { nr_xcrs: 1, flags: 0, xcrs, padding: [] };
  }

  /**
   * kvm_vcpu_ioctl_x86_set_xcrs: nr_xcrs > 16 or flags → EINVAL; the first XCR0 entry goes
   * through __kvm_set_xcr: FP must be set, no bit beyond what the vCPU's CPUID 0xd.0 offers (and
   * the core supports) → else EINVAL. Entries for other XCRs are ignored, as KVM does.
   */
  setXcrs(x: KvmXcrs): void {
    if (x.nr_xcrs > KVM_MAX_XCRS || x.flags !== 0) {
      throw new KvmError(
        "EINVAL",
        `kvm_xcrs: nr_xcrs ${x.nr_xcrs} (max ${KVM_MAX_XCRS}) / flags ${x.flags} (must be 0)`,
        {
          field: "kvm_xcrs",
        },
      );
    }
    const entry = x.xcrs.slice(0, x.nr_xcrs).find((e) => e.xcr === 0);
    if (!entry) return;
    const leaf = this.owner.cpuidModel.find(0xd, 0);
    const guestSupported = leaf
      ? ((BigInt(leaf.edx >>> 0) << 32n) | BigInt(leaf.eax >>> 0)) & BigInt(DEFAULT_CONFIG.xcr0Supported)
      : 0n;
    const v = entry.value;
    const bad =
      (v & 1n) === 0n
        ? "XCR0.FP (bit 0) must be set"
        : (v & ~(guestSupported | 1n)) !== 0n
          ? `XCR0 0x${v.toString(16)} has bits the vCPU's CPUID 0xd.0 does not offer (0x${guestSupported.toString(16)})`
          : undefined;
    if (bad) throw new KvmError("EINVAL", `kvm_xcrs: ${bad}`, { field: "kvm_xcrs.xcrs.value" });
    this.cpu.st.xcr0 = Number(v);
  }

  // ---- KVM_GET/SET_DEBUGREGS ----

  getDebugRegs(): KvmDebugregs {
    const d = getDebugRegs(this.cpu.st);
    return { db: [...d.db], dr6: d.dr6, dr7: d.dr7, flags: 0n, reserved: new Array(9).fill(0n) };
  }

  /** kvm_vcpu_ioctl_x86_set_debugregs: flags must be 0, DR6/DR7 bits 63:32 clear. */
  setDebugRegs(r: KvmDebugregs): void {
    if (r.flags !== 0n)
      throw new KvmError("EINVAL", `kvm_debugregs.flags 0x${r.flags.toString(16)} must be 0`, {
        field: "kvm_debugregs.flags",
      });
    for (const f of ["dr6", "dr7"] as const) {
      if (r[f] >> 32n !== 0n)
        throw new KvmError("EINVAL", `kvm_debugregs.${f} 0x${r[f].toString(16)} has bits 63:32 set`, {
          field: `kvm_debugregs.${f}`,
        });
    }
    setDebugRegs(this.cpu.st, { db: [r.db[0]!, r.db[1]!, r.db[2]!, r.db[3]!], dr6: r.dr6, dr7: r.dr7 });
  }

  /** End the CPU's pending exit without effect (its completion was dropped). */
  abandonExit(): void {
    if (this.cpu.pendingExit !== undefined) this.cpu.skipInstruction();
  }
}

function firstSetBit(words: readonly bigint[]): number | undefined {
  for (let w = 0; w < words.length; w++) {
    const v = words[w]!;
    if (v === 0n) continue;
    for (let b = 0; b < 64; b++) if ((v >> BigInt(b)) & 1n) return w * 64 + b;
  }
  return undefined;
}
