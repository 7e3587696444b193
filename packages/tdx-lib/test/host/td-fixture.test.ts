// The public TD fixture (src/host/td-fixture.ts) that every end-to-end test here builds on.
import { describe, expect, it } from "vitest";
import {
  bootTd,
  buildIdtPage,
  buildTd,
  decodeRunExit,
  GUEST_IMAGE_GVA,
  GuestProgram,
  hostTdxCapabilities,
  MMIO_REQUEST_GPA,
  setMmioReadData,
  TD_TEST_MEMORY_SIZE,
  TDX_MMIO_TEST_ADDR,
  TdxTestAssertionError,
  tdTestSupportedCpuid,
  tdxRun,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestReadReport,
} from "../../src/index.js";
import { ioRun } from "../report/kvm-run-fixture.js";

describe("the TD fixture", () => {
  it("supported CPUID: the configurable leaves of KVM_TDX_CAPABILITIES, native F/M/S, GPAW 48; fresh copies", () => {
    const cpuid = tdTestSupportedCpuid();
    const caps = hostTdxCapabilities();
    expect(cpuid.map((e) => [e.function, e.index])).toEqual(caps.cpuid.map((e) => [e.function, e.index]));
    expect(cpuid.find((e) => e.function === 1)?.eax).toBe(0);
    expect(cpuid.find((e) => e.function === 0x8000_0008)?.eax).toBe(48 << 16);
    cpuid[0]!.eax = 0xdead;
    (caps.cpuid as unknown[]).length = 0;
    expect(tdTestSupportedCpuid()[0]!.eax).not.toBe(0xdead);
    expect(hostTdxCapabilities().cpuid.length).toBeGreaterThan(0);
    expect(MMIO_REQUEST_GPA).toBe(BigInt(TDX_MMIO_TEST_ADDR) | (1n << 47n));
  });

  it("buildTd adds one vCPU per entry and leaves the TD unfinalized; bootTd finalizes it and each vCPU runs its entry", () => {
    const program = new GuestProgram()
      .fn("guest_a", (f) => {
        f.call("tdx_test_report_to_user_space", 0xa);
        f.call("tdx_test_success");
      })
      .fn("guest_b", (f) => {
        f.call("tdx_test_report_to_user_space", 0xb);
        f.call("tdx_test_success");
      });
    const built = buildTd(program, { entries: ["guest_a", "guest_b"] });
    expect(built.td.finalized).toBe(false);
    expect(built.td.vcpus.map((v) => v.entry)).toEqual([
      Number(built.image.symbol("guest_a")),
      Number(built.image.symbol("guest_b")),
    ]);
    expect(built.image.origin).toBe(BigInt(GUEST_IMAGE_GVA));
    expect(built.td.plan?.memorySize).toBe(TD_TEST_MEMORY_SIZE);

    let hookSaw = false;
    const { td } = bootTd(program, {
      entries: ["guest_a", "guest_b"],
      beforeFinalize: (t) => {
        hookSaw = !t.finalized && t.vcpus.length === 2;
      },
    });
    expect(hookSaw).toBe(true);
    expect(tdxTestReadReport(tdxRun(td, 1))).toBe(0xb);
    expect(tdxTestReadReport(tdxRun(td, 0))).toBe(0xa);
    tdxTestAssertSuccess(tdxRun(td, 1));
    tdxTestAssertSuccess(tdxRun(td, 0));
    expect(() => bootTd(program, { entries: ["guest_c"] })).toThrow(/no symbol "guest_c"/);
  });

  it("exceptionHandlers adds IDT gates to the image's own; an unknown symbol or a taken vector is refused", () => {
    const program = new GuestProgram()
      .fn("guest_code", (f) => f.call("tdx_test_success"))
      .fn("guest_ud_handler", (f) => f.call("tdx_test_success"));
    const UD_VECTOR = 6;
    const { td, image } = buildTd(program, {
      exceptionHandlers: [{ vector: UD_VECTOR, handler: "guest_ud_handler" }],
    });
    const expected = buildIdtPage([
      ...image.idtEntries,
      { vector: UD_VECTOR, handler: image.symbol("guest_ud_handler") },
    ]);
    expect(td.readStaging(td.plan!.idt, expected.length, "IDT")).toEqual(expected);
    expect(() => buildTd(program, { exceptionHandlers: [{ vector: UD_VECTOR, handler: "nope" }] })).toThrow(
      /no symbol "nope"/,
    );
    const ve = image.idtEntries[0]!.vector;
    expect(() =>
      buildTd(program, { exceptionHandlers: [{ vector: ve, handler: "guest_ud_handler" }] }),
    ).toThrow(`vector ${ve} is given twice`);
  });

  it("setMmioReadData answers an MMIO read with the value little-endian, and refuses anything else", () => {
    const { td } = bootTd(
      new GuestProgram().fn("guest_code", (f) => {
        const value = f.local(0);
        const r = f.call("tdg_vp_vmcall_ve_request_mmio_read", MMIO_REQUEST_GPA, 4, f.addrOf(value));
        f.call("tdx_assert_error", r);
        f.call("tdx_test_report_to_user_space", value);
        f.call("tdx_test_success");
      }),
    );
    const exit = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, 4, false);
    expect(() => setMmioReadData(exit, 1n, 8)).toThrow(
      "setMmioReadData: size 8 is not the exit's mmio.len 4",
    );
    expect(() => setMmioReadData(exit, 1n << 32n, 4)).toThrow(/4294967296 does not fit in 4 byte/);
    setMmioReadData(exit, 0x1234_5678n, 4);
    expect(tdxTestReadReport(tdxRun(td))).toBe(0x1234_5678);
    tdxTestAssertSuccess(tdxRun(td));
    expect(() => setMmioReadData(decodeRunExit(ioRun(1, 4, 0x30, 0)), 0n, 4)).toThrow(TdxTestAssertionError);
  });
});
