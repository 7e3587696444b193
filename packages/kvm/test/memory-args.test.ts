import { Errno } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  type KvmError,
  kvmCreateGuestMemfd,
  kvmMemoryAttributes,
  memoryFaultExit,
  parseCreateGuestMemfd,
  parseMemoryAttributes,
} from "../src/index.js";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect((e as KvmError).errno).toBe(Errno.EINVAL);
    return (e as KvmError).field;
  }
  return undefined;
}

describe("KVM_SET_MEMORY_ATTRIBUTES arguments", () => {
  const attrs = (v: Partial<ReturnType<typeof kvmMemoryAttributes.zero>>) =>
    kvmMemoryAttributes.encode({ address: 0x10000n, size: 0x2000n, attributes: 8n, ...v });
  it("accepts a private range on a TD and a shared (0) range anywhere", () => {
    expect(parseMemoryAttributes(attrs({}), 8n)).toEqual({
      address: 0x10000n,
      size: 0x2000n,
      attributes: 8n,
    });
    expect(parseMemoryAttributes(attrs({ attributes: 0n, size: 1n << 40n }), 0n).size).toBe(1n << 40n);
  });
  it("refuses in the kernel's order, naming the field", () => {
    expect(fieldOf(() => parseMemoryAttributes(attrs({ flags: 1n, size: 0n }), 8n))).toBe(
      "kvm_memory_attributes.flags",
    );
    expect(fieldOf(() => parseMemoryAttributes(attrs({}), 0n))).toBe("kvm_memory_attributes.attributes");
    expect(fieldOf(() => parseMemoryAttributes(attrs({ attributes: 16n }), 8n))).toBe(
      "kvm_memory_attributes.attributes",
    );
    expect(fieldOf(() => parseMemoryAttributes(attrs({ size: 0n }), 8n))).toBe("kvm_memory_attributes.size");
    expect(
      fieldOf(() => parseMemoryAttributes(attrs({ address: 0xfffffffffffff000n, size: 0x1000n }), 8n)),
    ).toBe("kvm_memory_attributes.size");
    expect(fieldOf(() => parseMemoryAttributes(attrs({ address: 0x10800n }), 8n))).toBe(
      "kvm_memory_attributes.address",
    );
    expect(fieldOf(() => parseMemoryAttributes(attrs({ size: 0x1800n }), 8n))).toBe(
      "kvm_memory_attributes.size",
    );
  });
});

describe("KVM_CREATE_GUEST_MEMFD arguments", () => {
  it("needs a positive page-multiple size and no flags", () => {
    expect(parseCreateGuestMemfd(kvmCreateGuestMemfd.encode({ size: 1n << 30n }))).toEqual({
      size: 1n << 30n,
      flags: 0n,
    });
    expect(fieldOf(() => parseCreateGuestMemfd(kvmCreateGuestMemfd.encode({ size: 4096n, flags: 1n })))).toBe(
      "kvm_create_guest_memfd.flags",
    );
    for (const size of [0n, 100n, 1n << 63n, (1n << 64n) - 4096n]) {
      expect(fieldOf(() => parseCreateGuestMemfd(kvmCreateGuestMemfd.encode({ size })))).toBe(
        "kvm_create_guest_memfd.size",
      );
    }
    // reserved words are not checked by 6.16
    expect(parseCreateGuestMemfd(kvmCreateGuestMemfd.encode({ size: 4096n, reserved: [1n] })).size).toBe(
      4096n,
    );
  });
});

describe("KVM_EXIT_MEMORY_FAULT", () => {
  it("reports the page, 4096 bytes and PRIVATE iff the access was private", () => {
    expect(memoryFaultExit(0x12345n, true)).toEqual({
      kind: "memoryFault",
      flags: 8n,
      gpa: 0x12000n,
      size: 4096n,
    });
    expect(memoryFaultExit(0x12000n, false)).toEqual({
      kind: "memoryFault",
      flags: 0n,
      gpa: 0x12000n,
      size: 4096n,
    });
  });
});
