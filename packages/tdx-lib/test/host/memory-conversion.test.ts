import { describe, expect, it } from "vitest";
import {
  decodeRunExit,
  describeExit,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  memoryConversionForExit,
} from "../../src/index.js";
import { hypercallRun, ioRun, memoryFaultRun } from "../report/kvm-run-fixture.js";

describe("memoryConversionForExit (td_vcpu_run's handle_memory_conversion)", () => {
  it("decodes KVM_EXIT_HYPERCALL at the uapi offsets", () => {
    const exit = decodeRunExit(hypercallRun(12n, [0x8000_0000n, 1n, 0n]));
    expect(exit).toMatchObject({ kind: "hypercall", reason: 3, nr: 12n, ret: 0n, flags: 1n });
    expect(describeExit(exit)).toBe(
      "KVM_EXIT_HYPERCALL (3) nr 12, args [0x80000000, 0x1, 0x0, 0x0, 0x0, 0x0]",
    );
  });

  it("MapGPA to shared (DECRYPTED) and back to private (ENCRYPTED)", () => {
    expect(memoryConversionForExit(decodeRunExit(hypercallRun(12n, [0x8000_0000n, 1n, 0n])))).toEqual({
      address: 0x8000_0000n,
      size: 0x1000n,
      attributes: 0n,
      cause: "MapGPA",
    });
    expect(memoryConversionForExit(decodeRunExit(hypercallRun(12n, [0x8000_0000n, 512n, 0x10n])))).toEqual({
      address: 0x8000_0000n,
      size: 0x20_0000n,
      attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE,
      cause: "MapGPA",
    });
  });

  it("memory fault: flags == PRIVATE asks for private, anything else for shared", () => {
    expect(memoryConversionForExit(decodeRunExit(memoryFaultRun(8n, 0x9000_0000n, 4096n)))).toMatchObject({
      address: 0x9000_0000n,
      size: 4096n,
      attributes: 8n,
    });
    expect(memoryConversionForExit(decodeRunExit(memoryFaultRun(0n, 0x9000_0000n, 4096n)))?.attributes).toBe(
      0n,
    );
  });

  it("other exits are not conversions; malformed MapGPA exits are refused", () => {
    expect(memoryConversionForExit(decodeRunExit(ioRun(1, 4, 0x30, 0)))).toBeUndefined();
    expect(memoryConversionForExit(decodeRunExit(hypercallRun(5n, [0n])))).toBeUndefined();
    expect(() => memoryConversionForExit(decodeRunExit(hypercallRun(12n, [0x1000n, 1n, 1n])))).toThrow(
      /args\[2\] 0x1 asks for a page size other than 4 KiB/,
    );
    expect(() => memoryConversionForExit(decodeRunExit(hypercallRun(12n, [0x1000n, 0n, 0n])))).toThrow(
      /args\[1\] is 0 pages/,
    );
  });
});
