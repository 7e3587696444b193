// The x86 MMU's second stage for one TD vCPU: GPA → host page through the module's translate()
// (Secure EPT for private GPAs, the host's shared EPT for shared ones). Refusals are answered
// side-effect free, as the MMU contract asks; the executor re-translates to learn the details.
import {
  GPA_FAULT,
  GPA_OK,
  GPA_VE,
  type GpaStatus,
  type GpaTranslation,
  type GuestPhysicalMap,
} from "@tdxsim/x86";
import { FaultKind } from "../td-memory.js";
import { VeInfo } from "../td-state.js";
import type { TdVcpu } from "../td-vcpu.js";

export class TdGuestPhysicalMap implements GuestPhysicalMap {
  /**
   * Bumped at every TDH.VP.ENTER (and after ACCEPT): the host changes the Secure/shared EPT only
   * while the vCPU is outside the TD, so one flush per entry keeps every cached answer valid.
   */
  generation = 0;
  /** The Secure EPT generation the cached private translations were made under. */
  private septGeneration = -1;
  /** A shared GPA was translated since the last flush (the host's shared EPT changes unseen). */
  private sharedSinceFlush = false;
  /** Int32Array views of host pages, made once per page. */
  private readonly words = new WeakMap<Uint8Array, Int32Array>();

  constructor(private readonly vcpu: TdVcpu) {}

  /**
   * At TDH.VP.ENTER: flush when the Secure EPT changed while the vCPU was out, or when shared
   * translations may be cached (the host edits its shared EPT without telling the module). A guest
   * that only touched private memory keeps its TLB across TDVMCALL round trips.
   */
  enter(): void {
    const sept = this.vcpu.memory.td.sept!.generation;
    if (sept !== this.septGeneration || this.sharedSinceFlush) this.flush();
  }

  /** Drops every cached answer (ACCEPT changed a page behind the CPU, a stale refusal...). */
  flush(): void {
    this.generation++;
    this.septGeneration = this.vcpu.memory.td.sept!.generation;
    this.sharedSinceFlush = false;
  }

  translate(gpa: number, access: number, out: GpaTranslation): GpaStatus {
    const vcpu = this.vcpu;
    if (gpa >= vcpu.memory.td.sharedBitValue) this.sharedSinceFlush = true;
    const page = vcpu.translate(gpa, access & 7);
    if (page !== null) {
      let w = this.words.get(page);
      if (w === undefined) {
        w = new Int32Array(page.buffer, page.byteOffset, page.byteLength >> 2);
        this.words.set(page, w);
      }
      out.bytes = page;
      out.words = w;
      out.writable = true;
      out.private = gpa < vcpu.memory.td.sharedBitValue;
      return GPA_OK;
    }
    const f = vcpu.memory.fault;
    out.entryRwx = (f.exitQualification >>> 3) & 7;
    if (f.kind === FaultKind.VE) {
      // A CPU (shared-EPT) #VE while VE_INFO is still valid is a TD exit instead (tdx-abi.md §3.3).
      if (!f.private && vcpu.state.veInfo[VeInfo.VALID] !== 0) return GPA_FAULT;
      return GPA_VE;
    }
    return GPA_FAULT;
  }
}
