// The part of KVM's local APIC (arch/x86/kvm/lapic.c, 6.16) a TD can reach through RDMSR/WRMSR
// TDVMCALLs and KVM_GET/SET_MSRS: the x2APIC registers the CPU does not virtualise (ID, version, LDR,
// SPIV, ESR, ICR, the LVTs, the timer registers, SELF_IPI). TPR, PPR, EOI, ISR, TMR and IRR live in
// the CPU's virtual-APIC page, which KVM cannot see; tdxHasEmulatedMsr() keeps them out before
// this file is asked. The TD's APIC is always in x2APIC mode (KVM_TDX_INIT_VCPU sets it).
//
// Not modelled: interrupt delivery (a TD only gets posted interrupts, and tdxsim has none yet), so an
// ICR or SELF_IPI write is recorded but no IPI reaches anyone; the APIC timer never fires and, as
// there is no wall clock, its current count (TMCCT) stays at the initial count.

/** APIC register offsets (x2APIC MSR = 0x800 + offset / 16). */
export const ApicReg = {
  ID: 0x20,
  LVR: 0x30,
  TASKPRI: 0x80,
  PROCPRI: 0xa0,
  EOI: 0xb0,
  LDR: 0xd0,
  SPIV: 0xf0,
  ESR: 0x280,
  LVTCMCI: 0x2f0,
  ICR: 0x300,
  ICR2: 0x310,
  LVTT: 0x320,
  LVTTHMR: 0x330,
  LVTPC: 0x340,
  LVT0: 0x350,
  LVT1: 0x360,
  LVTERR: 0x370,
  TMICT: 0x380,
  TMCCT: 0x390,
  TDCR: 0x3e0,
  SELF_IPI: 0x3f0,
} as const;

/** The x2APIC MSR of an APIC register. */
export const x2apicMsr = (reg: number): number => 0x800 + (reg >> 4);

const APIC_VERSION = 0x14;
/** KVM_APIC_MAX_NR_LVT_ENTRIES (timer, thermal, perf, LINT0, LINT1, error, CMCI) */
const MAX_NR_LVT = 7;
const LVR_DIRECTED_EOI = 1 << 24;
const SPIV_APIC_ENABLED = 1 << 8;
const SPIV_DIRECTED_EOI = 1 << 12;
const LVT_MASKED = 1 << 16;
const ICR_BUSY = 1n << 12n;
const MODE_EXTINT = 0x700;
/** LVT_MASK: masked | delivery status | vector */
const LVT_MASK = LVT_MASKED | (1 << 12) | 0xff;
const APIC_MODE_MASK = 0x700;
/** LINT_MASK: LVT_MASK | mode | polarity | remote IRR | level */
const LINT_MASK = LVT_MASK | APIC_MODE_MASK | (1 << 13) | (1 << 14) | (1 << 15);
/** apic_lvt_mask[] by LVT index (timer gets timer_mode_mask added at write time). */
const LVT_WRITE_MASK = [
  LVT_MASK,
  LVT_MASK | APIC_MODE_MASK,
  LVT_MASK | APIC_MODE_MASK,
  LINT_MASK,
  LINT_MASK,
  LVT_MASK,
  LVT_MASK | APIC_MODE_MASK,
];
/** LVTT timer mode, bits 18:17 */
export const LvttMode = { ONESHOT: 0, PERIODIC: 1 << 17, TSCDEADLINE: 2 << 17 } as const;
const LVTT_MODE_BITS = 3 << 17;

export interface X2apicOwner {
  /** the vCPU's x2APIC ID (its vcpu_id) */
  readonly apicId: number;
  /** KVM_X86_QUIRK_LINT0_REENABLED applies to the BSP (vcpu_id == bsp_vcpu_id, 0) */
  readonly isBsp: boolean;
  /** MCG_CAP has MCG_CMCI_P: the CMCI LVT exists */
  cmciSupported(): boolean;
  /** guest CPUID.1:ECX[24] (TSC-deadline timer): LVTT may select TSC-deadline mode */
  tscDeadlineSupported(): boolean;
}

export class TdX2apic {
  private spiv = 0xff;
  private esr = 0;
  private icr = 0n;
  /** LVTT, LVTTHMR, LVTPC, LVT0, LVT1, LVTERR, LVTCMCI */
  private readonly lvt = new Array<number>(MAX_NR_LVT).fill(LVT_MASKED);
  private tmict = 0;
  private tdcr = 0;
  /** MSR_IA32_TSC_DEADLINE, meaningful only in TSC-deadline mode */
  private tscDeadline = 0n;

  constructor(private readonly owner: X2apicOwner) {
    // kvm_lapic_reset: the BSP's LINT0 is ExtINT (KVM_X86_QUIRK_LINT0_REENABLED, on by default)
    if (owner.isBsp) this.lvt[3] = MODE_EXTINT;
  }

  private get nrLvt(): number {
    return MAX_NR_LVT - (this.owner.cmciSupported() ? 0 : 1);
  }

  /** LVR: version 0x14, max LVT index, directed EOI (split irqchip: no in-kernel IOAPIC, as a TD requires). */
  get version(): number {
    return (APIC_VERSION | ((this.nrLvt - 1) << 16) | LVR_DIRECTED_EOI) >>> 0;
  }

  private get timerMode(): number {
    return this.lvt[0]! & LVTT_MODE_BITS;
  }

  /** kvm_x2apic_msr_read: the register's value, or undefined when it cannot be read (the access fails). */
  read(msr: number): bigint | undefined {
    const reg = (msr - 0x800) << 4;
    const id = this.owner.apicId >>> 0;
    switch (reg) {
      case ApicReg.ID:
        return BigInt(id);
      case ApicReg.LVR:
        return BigInt(this.version);
      case ApicReg.LDR:
        // x2APIC logical ID: cluster (id[31:4]) in bits 31:16, 1 << id[3:0] below
        return BigInt((((id >>> 4) << 16) | (1 << (id & 0xf))) >>> 0);
      case ApicReg.SPIV:
        return BigInt(this.spiv);
      case ApicReg.ESR:
        return BigInt(this.esr);
      case ApicReg.ICR:
        return this.icr;
      case ApicReg.TMICT:
        return BigInt(this.tmict);
      case ApicReg.TMCCT:
        // apic_get_tmcct: 0 unless a one-shot/periodic count is running; with no clock it never counts down
        return BigInt(this.timerMode === LvttMode.TSCDEADLINE ? 0 : this.tmict);
      case ApicReg.TDCR:
        return BigInt(this.tdcr);
    }
    const lvt = this.lvtIndex(reg);
    return lvt === undefined ? undefined : BigInt(this.lvt[lvt]!);
  }

  /** kvm_x2apic_msr_write: false when the write fails (the access faults). */
  write(msr: number, data: bigint): boolean {
    const reg = (msr - 0x800) << 4;
    if (reg === ApicReg.ICR) {
      // kvm_x2apic_icr_write: the busy bit is never stored; the IPI itself is not delivered (see top)
      this.icr = data & ~ICR_BUSY;
      return true;
    }
    // every other x2APIC register is 32 bits: reserved upper bits fault
    if (data >> 32n !== 0n) return false;
    const val = Number(data) >>> 0;
    switch (reg) {
      case ApicReg.SPIV: {
        this.spiv = val & (0x3ff | SPIV_DIRECTED_EOI);
        if ((val & SPIV_APIC_ENABLED) === 0)
          for (let i = 0; i < this.lvt.length; i++) this.lvt[i]! |= LVT_MASKED;
        return true;
      }
      case ApicReg.ESR:
        // x2APIC: only 0 may be written (it clears the register)
        if (val !== 0) return false;
        this.esr = 0;
        return true;
      case ApicReg.LVTT: {
        const timerModeMask = this.owner.tscDeadlineSupported() ? LVTT_MODE_BITS : LvttMode.PERIODIC;
        const next = (this.swEnabled ? val : val | LVT_MASKED) & (LVT_WRITE_MASK[0]! | timerModeMask);
        const wasDeadline = this.timerMode === LvttMode.TSCDEADLINE;
        this.lvt[0] = next;
        if (wasDeadline !== (this.timerMode === LvttMode.TSCDEADLINE)) {
          // apic_update_lvtt: switching to or from TSC-deadline mode stops the timer
          this.tmict = 0;
          this.tscDeadline = 0n;
        }
        return true;
      }
      case ApicReg.TMICT:
        if (this.timerMode !== LvttMode.TSCDEADLINE) this.tmict = val;
        return true;
      case ApicReg.TDCR:
        this.tdcr = val & 0xb;
        return true;
      case ApicReg.SELF_IPI:
        return true; // a self IPI of vector val & 0xff: not delivered (see top)
    }
    const lvt = this.lvtIndex(reg);
    if (lvt === undefined || lvt === 0) return false; // ID, LVR, LDR, ICR2, TMCCT, ...: read-only or absent
    this.lvt[lvt] = (this.swEnabled ? val : val | LVT_MASKED) & LVT_WRITE_MASK[lvt]!;
    return true;
  }

  /** MSR_IA32_TSC_DEADLINE read: 0 unless the LVT timer is in TSC-deadline mode. */
  readTscDeadline(): bigint {
    return this.timerMode === LvttMode.TSCDEADLINE ? this.tscDeadline : 0n;
  }

  /** MSR_IA32_TSC_DEADLINE write: ignored (but not failed) unless in TSC-deadline mode. */
  writeTscDeadline(data: bigint): void {
    if (this.timerMode === LvttMode.TSCDEADLINE) this.tscDeadline = data;
  }

  private get swEnabled(): boolean {
    return (this.spiv & SPIV_APIC_ENABLED) !== 0;
  }

  /** LVT index of `reg` (0 timer … 6 CMCI), undefined if not an LVT this APIC has. */
  private lvtIndex(reg: number): number | undefined {
    if (reg === ApicReg.LVTCMCI) return this.nrLvt > 6 ? 6 : undefined;
    if (reg >= ApicReg.LVTT && reg <= ApicReg.LVTERR) return (reg - ApicReg.LVTT) >> 4;
    return undefined;
  }
}
