// @tdxsim/x86 CPU: cost of a stop and resume. A TD guest that TDCALLs in a loop makes run()
// return after two instructions each time; here the bare CPU runs `tdcall; jmp back` with TDCALL
// stopping, and the host completes each stop (skipInstruction) and re-enters run(). Printed as
// round trips per second next to the same CPU running a loop that never stops (instructions/s).
//
// The 64-bit test guest (page tables, GDT, IDT) lives with the x86 package's tests, loaded by path.
import type * as x86 from "@tdxsim/x86";
import { formatRate, measure, report } from "./measure.js";

interface HarnessModule {
  guest64(source: string): { cpu: x86.Cpu };
}
const harness: HarnessModule = await import(
  new URL("../../../packages/x86/test/cpu/harness.ts", import.meta.url).href
);

// Baseline: the same CPU and guest shape, a loop that never leaves run().
const loop = harness.guest64("again: add eax, 1\njmp again").cpu;
const base = measure("non-stopping guest loop", " instr/s", (n) => {
  const before = loop.st.retired;
  const stop = loop.run(n);
  if (stop.reason !== "budget-exhausted" || loop.st.retired - before !== n) throw new Error("loop stopped");
});
report(base);

for (const [name, source, reason] of [
  ["TDCALL", "again: tdcall\njmp again", "tdcall"],
  ["VMCALL", "again: vmcall\njmp again", "vmcall"],
] as const) {
  const { cpu } = harness.guest64(source);
  const trips = measure(`${name} stop + skipInstruction + run() again`, " round trips/s", (n) => {
    for (let k = 0; k < n; k++) {
      const stop = cpu.run(1000);
      if (stop.reason !== reason) throw new Error(`stopped with ${stop.reason}`);
      cpu.skipInstruction();
    }
  });
  report(trips, base);
  console.log(
    `  = ${(1e9 / trips.rate).toFixed(0)} ns per round trip (${formatRate(trips.rate)} per second)`,
  );
}
