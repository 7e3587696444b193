import { describe, expect, it } from "vitest";
import { ExitReason } from "../src/abi/vmx.js";
import {
  cr0WriteCausesVe,
  Disposition,
  instructionDisposition,
  msrDisposition,
  xsetbvFaults,
} from "../src/td-exits.js";
import { TdState } from "../src/td-state.js";

function td(attributes = 0n, xfam = 3n) {
  const t = new TdState(0x1000, 2);
  t.attributes = attributes;
  t.xfam = xfam;
  return t;
}

describe("TD exit dispositions", () => {
  it("instructions: HLT/IO/CPUID/WBINVD → #VE, VMX and SEAMCALL → #UD, RDPMC by PERFMON", () => {
    for (const r of [
      ExitReason.HLT,
      ExitReason.IO_INSTRUCTION,
      ExitReason.CPUID,
      ExitReason.WBINVD,
      ExitReason.VMCALL,
    ])
      expect(instructionDisposition(td(), r)).toBe(Disposition.VE);
    for (const r of [27, 66, 50, 11]) expect(instructionDisposition(td(), r)).toBe(Disposition.UD);
    expect(instructionDisposition(td(), 15)).toBe(Disposition.GP);
    expect(instructionDisposition(td(1n << 63n), 15)).toBe(Disposition.NATIVE);
  });
  it("MSRs: native, #VE (unlisted, APIC_BASE, ICR, TSC write), #GP (SMBASE, VMX writes, PMU without PERFMON)", () => {
    const t = td();
    expect(msrDisposition(t, 0xc0000082, false)).toBe(Disposition.NATIVE);
    expect(msrDisposition(t, 0xc0000082, true)).toBe(Disposition.NATIVE);
    expect(msrDisposition(t, 0x10, false)).toBe(Disposition.NATIVE);
    expect(msrDisposition(t, 0x10, true)).toBe(Disposition.VE);
    expect(msrDisposition(t, 0x1b, false)).toBe(Disposition.VE);
    expect(msrDisposition(t, 0x830, true)).toBe(Disposition.VE);
    expect(msrDisposition(t, 0x2ff, false)).toBe(Disposition.VE);
    expect(msrDisposition(t, 0x9e, false)).toBe(Disposition.GP);
    expect(msrDisposition(t, 0x481, false)).toBe(Disposition.VE);
    expect(msrDisposition(t, 0x481, true)).toBe(Disposition.GP);
    expect(msrDisposition(t, 0x186, true)).toBe(Disposition.GP);
    expect(msrDisposition(td(1n << 63n), 0x186, true)).toBe(Disposition.NATIVE);
    expect(msrDisposition(t, 0x808, true)).toBe(Disposition.NATIVE);
  });
  it("XSETBV and CR0 rules", () => {
    expect(xsetbvFaults(td(0n, 7n), 0, 7, 0)).toBe(false);
    expect(xsetbvFaults(td(0n, 3n), 0, 7, 0)).toBe(true);
    expect(xsetbvFaults(td(0n, 7n), 1, 7, 0)).toBe(true);
    expect(xsetbvFaults(td(0n, 7n), 0, 6, 0)).toBe(true);
    expect(cr0WriteCausesVe(0x80000021)).toBe(false);
    expect(cr0WriteCausesVe(0x80000020)).toBe(true);
    expect(cr0WriteCausesVe(0x80000001)).toBe(true);
    expect(cr0WriteCausesVe(0xc0000021)).toBe(true);
  });
});
