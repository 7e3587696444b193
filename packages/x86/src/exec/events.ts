// Pending external events: injected NMIs and maskable interrupts, the STI / MOV SS
// interrupt shadow and NMI blocking, in the priority order of SDM Vol. 3A 6.9 (NMI before
// maskable interrupts). The run loop asks `nextEvent` at instruction boundaries.

import { EventKind, type X86Event } from "./deliver.js";
import { IF, readRflags } from "./flags.js";
import { FLAGS_REST } from "./regs.js";
import type { CpuState } from "./state.js";

export class PendingEvents {
  nmi = false;
  /** Vector of the pending maskable interrupt (as an INTR acknowledge would return), or -1. */
  irq = -1;
  /**
   * Instructions left in the interrupt shadow: STI (when IF was 0) and MOV/POP SS block
   * maskable interrupts (and, for MOV SS, NMIs/#DB) until the next instruction completes.
   */
  shadow = 0;

  injectNmi(): void {
    this.nmi = true;
  }

  injectInterrupt(vector: number): void {
    if (!Number.isInteger(vector) || vector < 32 || vector > 255) {
      throw new RangeError(`injectInterrupt: vector ${vector} is not an external interrupt vector (32..255)`);
    }
    this.irq = vector;
  }

  /** Call after each retired instruction. */
  retire(): void {
    if (this.shadow > 0) this.shadow--;
  }
}

/** The event to deliver now, if any, removing it from the pending set. */
export function nextEvent(cpu: CpuState, pending: PendingEvents): X86Event | null {
  if (pending.shadow > 0) return null;
  if (pending.nmi && !cpu.nmiBlocked) {
    pending.nmi = false;
    return { vector: 2, kind: EventKind.Nmi };
  }
  if (pending.irq >= 0 && readRflags(cpu.r) & IF) {
    const vector = pending.irq;
    pending.irq = -1;
    return { vector, kind: EventKind.External };
  }
  return null;
}

/** True when a pending event would end the HLT state (an NMI, or an interrupt with IF=1). */
export function wakesFromHlt(cpu: CpuState, pending: PendingEvents): boolean {
  return (pending.nmi && !cpu.nmiBlocked) || (pending.irq >= 0 && (cpu.r[FLAGS_REST] & IF) !== 0);
}
