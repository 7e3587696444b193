// The host half over @tdxsim/kvm: a TD built, loaded (measured) and finalized through
// tdCreate → tdInitialize → tdVcpuAdd → tdFinalize (refusals of bad use: host-misuse.test.ts).
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  GuestProgram,
  type TdVm,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdTestProcess,
  tdVcpuAdd,
} from "../../src/index.js";
import { GPR } from "../guest/guest-cpu.js";
import { bootLoadedPages } from "./td-fixture.js";

const MiB = 1 << 20;

function guestImage() {
  const g = new GuestProgram().fn("guest_code", (f) => {
    f.call("tdx_test_success");
  });
  return assembleGuestImage({ origin: 0x40_0000, program: g });
}

function mrtd(td: TdVm): string {
  const tdx = td.vm.tdx;
  let out = "";
  for (let i = 0n; i < 6n; i++) {
    const r = tdx.module.tdhMngRd(tdx.tdr, 0x1310000300000000n + i); // TDCS MRTD, 8 bytes per field
    expect(r.status).toBe(0n);
    out += (r.r8 ?? 0n).toString(16).padStart(16, "0");
  }
  return out;
}

function buildTd(program = guestImage()) {
  const td = tdCreate({ process: tdTestProcess() });
  tdInitialize(td, { image: program.chunks, idtEntries: program.idtEntries, memorySize: 16 * MiB });
  tdVcpuAdd(td, 0, program.symbol("guest_code"));
  return { td, program };
}

describe("host half: td_create → td_initialize → td_vcpu_add → td_finalize", () => {
  it("builds and finalizes a TD with the guest image; two identical builds give the same MRTD", () => {
    const a = buildTd();
    tdFinalize(a.td);
    expect(a.td.vm.td.state).toBe("runnable");
    const b = buildTd();
    tdFinalize(b.td);
    expect(mrtd(b.td)).toBe(mrtd(a.td));
    expect(mrtd(a.td)).not.toBe("0".repeat(96));
    // A different guest body gives a different measurement.
    const other = new GuestProgram().fn("guest_code", (f) => {
      f.call("tdx_test_fatal", 1);
    });
    const c = buildTd(assembleGuestImage({ origin: 0x40_0000, program: other }));
    tdFinalize(c.td);
    expect(mrtd(c.td)).not.toBe(mrtd(a.td));
  });

  it("measures private globals' initial values but not shared ones (the shared section is not added)", () => {
    const build = (sharedInit: bigint, privateInit: bigint) => {
      const g = new GuestProgram()
        .global("shared_value", { size: 8, init: sharedInit, shared: true })
        .global("private_value", { size: 8, init: privateInit })
        .fn("guest_code", (f) => {
          f.call("tdx_test_success");
        });
      const { td } = buildTd(assembleGuestImage({ origin: 0x40_0000, program: g }));
      tdFinalize(td);
      return mrtd(td);
    };
    const base = build(1n, 1n);
    expect(build(2n, 1n)).toBe(base);
    expect(build(1n, 2n)).not.toBe(base);
  });

  it("lays out the TD as planned: memslots 0/1/2, per-vCPU record; the loaded pages boot on the CPU", () => {
    const { td, program } = buildTd();
    expect(td.memslots.map((s) => [s.slot, s.gpa]).sort((x, y) => x[0]! - y[0]!)).toEqual([
      [0, 0],
      [1, td.plan!.bootCode.slotGpa],
      [2, 0xffff_0000],
    ]);
    expect(td.vcpus[0]).toMatchObject({ id: 0, index: 0, entry: Number(program.symbol("guest_code")) });
    // What td_finalize hands to KVM_TDX_INIT_MEM_REGION, booted from the reset vector on the
    // real CPU (the executor behind KVM_RUN is not there yet): td_boot, the page tables, GDT,
    // IDT and boot parameters written by the host half take vCPU 0 to guest_code's report.
    const tdcalls: bigint[][] = [];
    const m = bootLoadedPages(td, (regs) => {
      tdcalls.push([...regs]);
      return true;
    });
    m.runUntilRip(program.symbol("guest_code"));
    expect(m.regs[GPR.rsp]).toBe(BigInt(td.vcpus[0]!.initialStackAddr));
    expect(m.run()).toBe("tdcall-exit");
    expect([tdcalls[0]![GPR.r11], tdcalls[0]![GPR.r12], tdcalls[0]![GPR.r14]]).toEqual([30n, 4n, 0x30n]);
  });
});
