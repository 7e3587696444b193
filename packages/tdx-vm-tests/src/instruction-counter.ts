// Guest instructions retired, counted around the TDX module's own executor: each TD vCPU runs on
// an @tdxsim/x86 Cpu whose retired-instruction count (the TSC's time base) grows as it runs; this
// wrapper adds up what every TDH.VP.ENTER retired. Nothing in kvm, tdx-module or x86 changes.
import { TdCpuExecutor, type TdGuestExecutor, type TdVcpu } from "@tdxsim/tdx-module";

/** A TdGuestExecutor (KvmHostOptions.tdGuestExecutor) that counts the guest instructions it ran. */
export class CountingTdExecutor implements TdGuestExecutor {
  private readonly inner = new TdCpuExecutor();
  /** Guest instructions retired by every vCPU this executor entered. */
  retired = 0;

  run(vcpu: TdVcpu, budget: number): number {
    const before = this.inner.cpuOf(vcpu)?.st.retired ?? 0;
    try {
      return this.inner.run(vcpu, budget);
    } finally {
      this.retired += (this.inner.cpuOf(vcpu)?.st.retired ?? 0) - before;
    }
  }
}
