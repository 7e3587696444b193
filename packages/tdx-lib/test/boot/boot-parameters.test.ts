import { describe, expect, it } from "vitest";
import {
  decodeTdBootCommonParameters,
  decodeTdPerVcpuParameters,
  encodeTdBootParameters,
  RESET_VECTOR_GPA,
  RESET_VECTOR_SIZE,
  TD_BOOT_CR0,
  TD_BOOT_CR4,
  TD_BOOT_PARAMETERS_GPA,
  TD_LONG_MODE_EFER,
  TD_RESET_CR0,
  TD_RESET_EFER,
  tdBootCodeGpa,
  tdBootCodeSlot,
  tdBootParametersSize,
  tdBootParametersSlot,
  tdPerVcpuParametersGpa,
  writeTdBootCommonParameters,
  writeTdPerVcpuParameters,
} from "../../src/index.js";

const common = {
  cr0: TD_BOOT_CR0,
  cr3: 0x18_0000,
  cr4: TD_BOOT_CR4,
  gdtr: { limit: 0xfff, base: 0x2000 },
  idtr: { limit: 0xfff, base: 0x3000 },
};

describe("control-register values of the boot path", () => {
  it("match the bits the spec derives", () => {
    expect(TD_BOOT_CR0).toBe(0x8000_0021);
    expect(TD_BOOT_CR4).toBe(0x660);
    expect(TD_RESET_CR0).toBe(0x21);
    expect(TD_RESET_EFER).toBe(0x901);
    expect(TD_LONG_MODE_EFER).toBe(0xd01);
  });
});

describe("td_boot_parameters byte layout", () => {
  it("packs the common fields and two per-vCPU records exactly", () => {
    const block = encodeTdBootParameters(common, [
      { espGva: 0xab_b000, eipGva: 0x40_1000, code64Sel: 0x8 },
      { espGva: 0xab_6000, eipGva: 0x40_2040, code64Sel: 0x8 },
    ]);
    // biome-ignore format: one row per field
    expect([...block]).toEqual([
      0x21, 0x00, 0x00, 0x80,             // @0  cr0
      0x00, 0x00, 0x18, 0x00,             // @4  cr3
      0x60, 0x06, 0x00, 0x00,             // @8  cr4
      0xff, 0x0f, 0x00, 0x20, 0x00, 0x00, // @12 gdtr limit, base
      0xff, 0x0f, 0x00, 0x30, 0x00, 0x00, // @18 idtr limit, base
      0x00, 0xb0, 0xab, 0x00,             // @24 per_vcpu[0].esp_gva
      0x00, 0x10, 0x40, 0x00, 0x08, 0x00, // @28 ljmp_target: eip_gva, code64_sel
      0x00, 0x60, 0xab, 0x00,             // @34 per_vcpu[1].esp_gva
      0x40, 0x20, 0x40, 0x00, 0x08, 0x00, // @38 ljmp_target
    ]);
    expect(decodeTdBootCommonParameters(block)).toEqual(common);
    expect(decodeTdPerVcpuParameters(block, 1)).toEqual({
      espGva: 0xab_6000,
      eipGva: 0x40_2040,
      code64Sel: 8,
    });
  });

  it("writes into a region one vCPU at a time, as td_vcpu_add does", () => {
    const region = new Uint8Array(4096);
    writeTdBootCommonParameters(region, common);
    writeTdPerVcpuParameters(region, 2, { espGva: 0x1000, eipGva: 0x2000, code64Sel: 8 });
    expect(decodeTdPerVcpuParameters(region, 2)).toEqual({ espGva: 0x1000, eipGva: 0x2000, code64Sel: 8 });
    expect(region.subarray(24, 44).every((b) => b === 0)).toBe(true);
  });

  it("sizes and addresses: 24 + 10 per vCPU, records at 0xFFFF0000 + 24 + 10 × index", () => {
    expect(tdBootParametersSize(1)).toBe(34);
    expect(tdBootParametersSize(1024)).toBe(10264);
    expect(tdBootParametersSlot(1024)).toEqual({ gpa: 0xffff_0000, size: 3 * 4096 });
    expect(tdBootParametersSlot(4096).size).toBe(11 * 4096);
    expect(tdPerVcpuParametersGpa(0)).toBe(0xffff_0018);
    expect(tdPerVcpuParametersGpa(3)).toBe(0xffff_0036);
    expect(TD_BOOT_PARAMETERS_GPA).toBe(0xffff_0000);
  });

  it("the boot section below 4 GiB: reset vector, boot code, parameters must not collide", () => {
    expect(RESET_VECTOR_GPA + RESET_VECTOR_SIZE).toBe(2 ** 32);
    expect(tdBootCodeGpa(70)).toBe(0xffff_ffba);
    expect(tdBootCodeSlot(70)).toEqual({ gpa: 0xffff_f000, size: 4096 });
    expect(tdBootParametersSlot(6000).size).toBe(15 * 4096); // ends exactly at the boot-code page
    expect(() => tdBootParametersSlot(6500)).toThrow(
      /maxVcpus: 6500 vCPUs need 0x10000 bytes .* reaches the boot code/,
    );
    expect(() => tdBootParametersSize(0)).toThrow(/maxVcpus: 0 is not a positive integer/);
  });

  it("refuses values the 32-bit boot code cannot use, naming the field", () => {
    expect(() => encodeTdBootParameters({ ...common, cr3: 0x1_0000_0000 }, [])).toThrow(
      /^cr3: 0x100000000 does not fit in 32 unsigned bits/,
    );
    expect(() => encodeTdBootParameters({ ...common, cr0: 0 }, [])).toThrow(/^cr0: must not be 0/);
    expect(() => encodeTdBootParameters({ ...common, gdtr: { limit: 0xfff, base: 0 } }, [])).toThrow(
      /^gdtr.base: must not be 0/,
    );
    expect(() => encodeTdBootParameters({ ...common, idtr: { limit: 0x1_0000, base: 1 } }, [])).toThrow(
      /^idtr.limit/,
    );
    const vcpu = { espGva: 0x1000, eipGva: 0x2000, code64Sel: 8 };
    expect(() => encodeTdBootParameters(common, [{ ...vcpu, eipGva: 2 ** 32 }])).toThrow(
      /^per_vcpu\[0\]\.ljmp_target\.eip_gva: 0x100000000/,
    );
    expect(() => encodeTdBootParameters(common, [vcpu, { ...vcpu, espGva: 0 }])).toThrow(
      /^per_vcpu\[1\]\.esp_gva: the initial stack address must not be 0/,
    );
    expect(() => encodeTdBootParameters(common, [{ ...vcpu, code64Sel: 0 }])).toThrow(/null selector/);
    expect(() => writeTdPerVcpuParameters(new Uint8Array(34), 1, vcpu)).toThrow(
      /^per_vcpu\[1\]: does not fit/,
    );
    expect(() => encodeTdBootParameters(common, [vcpu, vcpu], 1)).toThrow(/2 records exceed maxVcpus 1/);
  });
});
