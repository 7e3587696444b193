// The assembled guest half in the planned TD: the pieces the host half will combine fit.
import { sparsePteMemory } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  assembleTdBoot,
  buildGdtPage,
  buildIdtPage,
  encodeTdBootParameters,
  GuestProgram,
  IDT_ENTRY_SIZE,
  placeTdBootCode,
  planTdInitialize,
  planTdVcpuStack,
  VE_VECTOR,
  writeTdPageTables,
} from "../../src/index.js";
import { GPR, GuestCpu } from "./guest-cpu.js";

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

    // Boot the real CPU from the reset vector in 32-bit mode with the host half's page tables,
    // GDT and IDT; run until the guest's first TDVMCALL (the success report) exits.
    const tdcalls: bigint[][] = [];
    const m = new GuestCpu((regs) => {
      tdcalls.push([...regs]);
      regs[GPR.r10] = 0n;
      return true;
    }).reset32();
    writeTdPageTables(plan.layout, plan.pgd, sparsePteMemory(m.mem));
    m.load(BigInt(plan.gdt), buildGdtPage(plan.tss));
    m.load(BigInt(plan.idt), idt);
    m.load(BigInt(plan.bootParameters.gpa), params);
    m.load(BigInt(placed.slotGpa), placed.bytes);
    m.load(image.origin, image.bytes);
    m.runUntilRip(BigInt(entry));
    expect(m.cpu.getSregs().cs).toMatchObject({ selector: 8, l: 1 });
    expect(m.regs[GPR.rsp]).toBe(BigInt(stack.initialStackAddr));
    expect(m.regs[GPR.rsp] % 16n).toBe(8n); // as after a CALL: SysV entry alignment
    expect(m.run()).toBe("tdcall-exit");
    expect([tdcalls[0][GPR.r11], tdcalls[0][GPR.r14]]).toEqual([30n, 0x30n]);
  });
});
