// KVM_GET/SET_VCPU_EVENTS for a normal vCPU (kvm_vcpu_ioctl_x86_get/set_vcpu_events, x86.c 6.16):
// the exception queued for the next entry, the interrupt queued for injection and the interrupt
// shadow, NMI pending/masked. Neither KVM_CAP_EXCEPTION_PAYLOAD nor KVM_CAP_X86_TRIPLE_FAULT_EVENT
// can be enabled here and there is no SMM, so those flags and fields are refused as KVM refuses
// them in that configuration. The core does not record whether STI or MOV SS opened an interrupt
// shadow: it is reported as KVM_X86_SHADOW_INT_STI.
import type { Cpu } from "@tdxsim/x86";
import { KvmError } from "./errors.js";
import { KvmVcpuEventValid, KvmX86ShadowInt } from "./uapi/constants.js";
import type { KvmVcpuEvents } from "./uapi/structs.js";

/** An exception KVM_SET_VCPU_EVENTS queued: delivered at the next KVM_RUN's entry. */
export interface QueuedException {
  vector: number;
  /** -1: none */
  errorCode: number;
}

const NMI_VECTOR = 2;
const VALID_FLAGS =
  KvmVcpuEventValid.NMI_PENDING |
  KvmVcpuEventValid.SIPI_VECTOR |
  KvmVcpuEventValid.SHADOW |
  KvmVcpuEventValid.SMM |
  KvmVcpuEventValid.PAYLOAD |
  KvmVcpuEventValid.TRIPLE_FAULT;

function invalid(why: string, field: string): KvmError {
  return new KvmError("EINVAL", `kvm_vcpu_events: ${why}`, { field: `kvm_vcpu_events.${field}` });
}

export function getVcpuEvents(cpu: Cpu, queued: QueuedException | undefined): KvmVcpuEvents {
  const p = cpu.pending;
  return {
    exception: {
      injected: queued ? 1 : 0,
      nr: queued?.vector ?? 0,
      has_error_code: queued && queued.errorCode >= 0 ? 1 : 0,
      pending: 0,
      error_code: queued && queued.errorCode >= 0 ? queued.errorCode : 0,
    },
    interrupt: {
      injected: p.irq >= 0 ? 1 : 0,
      nr: Math.max(p.irq, 0),
      soft: 0,
      shadow: p.shadow > 0 ? KvmX86ShadowInt.STI : 0,
    },
    nmi: { injected: 0, pending: p.nmi ? 1 : 0, masked: cpu.st.nmiBlocked ? 1 : 0, pad: 0 },
    sipi_vector: 0,
    flags: KvmVcpuEventValid.SHADOW | KvmVcpuEventValid.SMM,
    smi: { smm: 0, pending: 0, smm_inside_nmi: 0, latched_init: 0 },
    triple_fault: { pending: 0 },
    reserved: new Uint8Array(26),
    exception_has_payload: 0,
    exception_payload: 0n,
  };
}

/** Checks like KVM, then applies; returns the exception to deliver at the next entry, if any. */
export function setVcpuEvents(cpu: Cpu, e: KvmVcpuEvents): QueuedException | undefined {
  if ((e.flags & ~VALID_FLAGS) !== 0)
    throw invalid(`flags 0x${e.flags.toString(16)} has unknown bits`, "flags");
  if (e.flags & KvmVcpuEventValid.PAYLOAD)
    throw invalid("PAYLOAD needs KVM_CAP_EXCEPTION_PAYLOAD (not offered)", "flags");
  if (e.flags & KvmVcpuEventValid.TRIPLE_FAULT)
    throw invalid("TRIPLE_FAULT needs KVM_CAP_X86_TRIPLE_FAULT_EVENT enabled (not offered)", "flags");
  const ex = e.exception;
  // without the payload capability a pending exception is taken as injected
  const exceptionQueued = ex.injected !== 0 || ex.pending !== 0;
  if (exceptionQueued && (ex.nr > 31 || ex.nr === NMI_VECTOR))
    throw invalid(`exception.nr ${ex.nr} is not an exception vector`, "exception.nr");
  if (e.flags & KvmVcpuEventValid.SMM && (e.smi.smm || e.smi.pending || e.smi.smm_inside_nmi))
    throw invalid("SMM is not supported", "smi");
  const irq = e.interrupt;
  if (irq.injected && irq.nr < 32)
    throw invalid(
      `interrupt.nr ${irq.nr}: the simulated CPU injects external interrupts 32..255 only`,
      "interrupt.nr",
    );
  const p = cpu.pending;
  if (irq.injected) cpu.injectInterrupt(irq.nr);
  else p.irq = -1;
  if (e.flags & KvmVcpuEventValid.SHADOW) p.shadow = e.interrupt.shadow !== 0 ? 1 : 0;
  p.nmi =
    e.nmi.injected !== 0 || ((e.flags & KvmVcpuEventValid.NMI_PENDING) !== 0 ? e.nmi.pending !== 0 : p.nmi);
  cpu.st.nmiBlocked = e.nmi.masked !== 0;
  return exceptionQueued
    ? { vector: ex.nr, errorCode: ex.has_error_code ? ex.error_code | 0 : -1 }
    : undefined;
}
