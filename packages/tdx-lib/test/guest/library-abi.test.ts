import { describe, expect, it } from "vitest";
import {
  decodeVeInfo,
  TDVMCALL_EXPOSE_REGS_MASK,
  TDX_HYPERCALL_ARGS,
  TDX_MODULE_OUTPUT,
  VE_INFO,
} from "../../src/index.js";

describe("guest library struct layouts", () => {
  it("RCX exposes exactly R10–R15", () => {
    const bits = [10, 11, 12, 13, 14, 15].reduce((mask, r) => mask | (1 << r), 0);
    expect(TDVMCALL_EXPOSE_REGS_MASK).toBe(bits);
  });

  it("six consecutive u64 fields in tdx_hypercall_args and tdx_module_output", () => {
    expect(Object.values(TDX_HYPERCALL_ARGS)).toEqual([0, 8, 16, 24, 32, 40, 48]);
    expect(Object.values(TDX_MODULE_OUTPUT)).toEqual([0, 8, 16, 24, 32, 40, 48]);
  });

  it("ve_info: four u64 then instr_len and instr_info (R10 low and high halves)", () => {
    const bytes = new Uint8Array(VE_INFO.size);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, 48n, true); // EPT violation
    view.setBigUint64(8, 0x181n, true);
    view.setBigUint64(16, 0x9000_0000n, true);
    view.setBigUint64(24, 0x8000_0000n, true);
    view.setBigUint64(32, 0x0000_0007_0000_0003n, true); // R10 as the TDCALL returned it
    expect(decodeVeInfo(bytes)).toEqual({
      exitReason: 48n,
      exitQual: 0x181n,
      gla: 0x9000_0000n,
      gpa: 0x8000_0000n,
      instrLen: 3,
      instrInfo: 7,
    });
    expect(() => decodeVeInfo(new Uint8Array(39))).toThrow(/ve_info: 39 bytes, need 40/);
  });
});
