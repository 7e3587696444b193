// The assembled guest half in the planned TD: the pieces the host half will combine fit.
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  assembleTdBoot,
  buildIdtPage,
  encodeTdBootParameters,
  GuestProgram,
  IDT_ENTRY_SIZE,
  placeTdBootCode,
  planTdInitialize,
  planTdVcpuStack,
  VE_VECTOR,
} from "../../src/index.js";
import { GPR, MiniMachine } from "./mini-interpreter.js";

describe("guest half in a planned TD", () => {
  it("td_boot, the image and the #VE gate fit planTdInitialize; booting vCPU 0 reaches the guest entry", () => {
    const g = new GuestProgram().fn("guest_code_lifecycle", (f) => {
      f.call("tdx_test_success");
    });
    const image = assembleGuestImage({ origin: 0x40_0000, program: g });
    const boot = assembleTdBoot();
    const plan = planTdInitialize({ maxVcpus: 1, bootCodeSize: boot.bytes.length, image: image.chunks });
    const placed = placeTdBootCode(boot.bytes, boot.resetVectorOffset);
    expect(placed.slotGpa).toBe(plan.bootCode.slotGpa);
    expect(placed.codeGpa).toBe(plan.bootCode.codeGpa);

    const stack = planTdVcpuStack(plan, 0, 1);
    const entry = Number(image.symbol("guest_code_lifecycle"));
    const params = encodeTdBootParameters(plan.bootCommonParameters, [
      { espGva: stack.initialStackAddr, eipGva: entry, code64Sel: 8 },
    ]);
    const idt = buildIdtPage(image.idtEntries);
    const gate = new DataView(idt.buffer, VE_VECTOR * IDT_ENTRY_SIZE, IDT_ENTRY_SIZE);
    const handler = gate.getUint16(0, true) | (gate.getUint16(6, true) << 16);
    expect(BigInt(handler >>> 0)).toBe(image.symbol("guest_ve_entry"));

    // Boot in 32-bit mode, then run the 64-bit entry until it returns into the (empty) stack top.
    const tdcalls: bigint[][] = [];
    const m = new MiniMachine((regs) => {
      tdcalls.push([...regs]);
      regs[GPR.r10] = 0n;
    });
    m.mode = 32;
    m.load(BigInt(plan.bootParameters.gpa), params);
    m.load(BigInt(placed.slotGpa), placed.bytes);
    m.load(image.origin, image.bytes);
    m.rip = 0xffff_fff0n;
    while (m.system.cs === 0n) m.step();
    m.mode = 64;
    expect(m.rip).toBe(BigInt(entry));
    expect(m.regs[GPR.rsp]).toBe(BigInt(stack.initialStackAddr));
    expect(m.regs[GPR.rsp] % 16n).toBe(8n); // as after a CALL: SysV entry alignment
    while (tdcalls.length === 0) m.step();
    expect([tdcalls[0][GPR.r11], tdcalls[0][GPR.r14]]).toEqual([30n, 0x30n]);
  });
});
