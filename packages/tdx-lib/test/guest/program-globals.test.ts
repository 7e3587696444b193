// The builder's data globals: layout in the image (alignment, initial bytes, symbol table),
// the guest-side accessors, and every misuse with a message naming the global.
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  GuestProgram,
  GuestProgramError,
  MAX_GUEST_GLOBAL_SIZE,
} from "../../src/index.js";

const ORIGIN = 0x40_0000;

describe("GuestProgram data globals", () => {
  it("lays each global out aligned after the library data, with its initial bytes, in image.globals", () => {
    const program = new GuestProgram()
      .global("small", { size: 2, init: 0xbeef, align: 2 })
      .global("report_buffer", { size: 1024, align: 1024 })
      .global("blob", { size: 5, init: new Uint8Array([1, 2, 3]) })
      .fn("guest_code", (f) => f.call("tdx_test_success"));
    const image = assembleGuestImage({ origin: ORIGIN, program });
    const at = (name: string) => Number(image.globals.get(name)!.address) - ORIGIN;
    expect(image.globals.get("small")).toEqual({ address: image.symbol("small"), size: 2, shared: false });
    expect(image.sharedSection).toBeUndefined();
    expect(image.chunks).toEqual([{ gpa: ORIGIN, bytes: expect.any(Uint8Array) }]);
    expect(at("report_buffer") % 1024).toBe(0);
    expect([...image.bytes.subarray(at("small"), at("small") + 2)]).toEqual([0xef, 0xbe]);
    expect([...image.bytes.subarray(at("blob"), at("blob") + 5)]).toEqual([1, 2, 3, 0, 0]);
    expect(image.bytes.subarray(at("report_buffer"), at("report_buffer") + 1024).every((b) => b === 0)).toBe(
      true,
    );
    // the library's globals are listed too (guest_ve_hook is what a test installs a #VE handler in)
    expect(image.globals.get("guest_ve_hook")?.size).toBe(8);
    expect(at("small")).toBeGreaterThan(at("guest_ve_hook"));
  });

  it("puts shared globals on pages of their own after the private image, as a chunk flagged shared", () => {
    const program = new GuestProgram()
      .global("private_a", { size: 8, init: 1n })
      .global("mailbox", { size: 8, init: 0x1234n, shared: true })
      .global("ring", { size: 5000, align: 64, shared: true })
      .global("private_b", { size: 4, init: 2 })
      .fn("guest_code", (f) => f.call("tdx_test_success"));
    const image = assembleGuestImage({ origin: ORIGIN, program });
    const section = image.sharedSection!;
    expect(Number(section.start) % 4096).toBe(0);
    expect(Number(section.end) % 4096).toBe(0);
    expect(image.chunks).toHaveLength(2);
    const [priv, shared] = image.chunks;
    expect(priv).toMatchObject({ gpa: ORIGIN });
    expect(priv!.shared).toBeUndefined();
    expect(shared).toMatchObject({ gpa: Number(section.start), shared: true });
    expect(priv!.gpa + priv!.bytes.length).toBe(shared!.gpa);
    expect(shared!.gpa + shared!.bytes.length).toBe(Number(section.end));
    for (const name of ["private_a", "private_b"]) {
      expect(image.globals.get(name)).toMatchObject({ shared: false });
      expect(image.globals.get(name)!.address).toBeLessThan(section.start);
    }
    expect(image.globals.get("mailbox")).toEqual({ address: section.start, size: 8, shared: true });
    const ring = image.globals.get("ring")!;
    expect(ring.shared).toBe(true);
    expect(Number(ring.address) % 64).toBe(0);
    expect(ring.address + 5000n).toBeLessThanOrEqual(section.end);
    expect([...shared!.bytes.subarray(0, 8)]).toEqual([0x34, 0x12, 0, 0, 0, 0, 0, 0]);
    // the guest reaches a shared global by its (shared-bit mapped) GVA like any other
    expect(() => new GuestProgram().global("flag", { size: 1, shared: "yes" as unknown as boolean })).toThrow(
      /flag: shared must be true or false/,
    );
  });

  it("refuses bad declarations, naming the global", () => {
    const g = () => new GuestProgram().fn("guest_code", () => {});
    const cases: [() => unknown, RegExp][] = [
      [() => g().global("guest_code", { size: 8 }), /guest_code: is defined twice/],
      [() => g().global("guest_ve_count", { size: 8 }), /guest_ve_count: is already a guest-library symbol/],
      [() => g().global("1st", { size: 8 }), /1st: is not a C identifier/],
      [() => g().global("x", { size: 0 }), /x: global size 0 is not an integer from 1/],
      [() => g().global("x", { size: MAX_GUEST_GLOBAL_SIZE + 1 }), /x: global size \d+ is not/],
      [() => g().global("x", { size: 8, align: 24 }), /x: global alignment 24 is not a power of two/],
      [() => g().global("x", { size: 1, init: 256 }), /x: initial value 256 does not fit in 1 byte/],
      [
        () => g().global("x", { size: 16, init: 1n }),
        /x: an integer initial value needs a global of at most 8 bytes/,
      ],
      [
        () => g().global("x", { size: 2, init: new Uint8Array(3) }),
        /x: initial value has 3 bytes, the global has 2/,
      ],
      [
        () =>
          g()
            .global("x", { size: 4 })
            .fn("x", () => {}),
        /x: is defined twice/,
      ],
      [() => g().global("x", { size: 4 }).declare("x", { params: 1 }), /x: is a data global, not a function/],
      [
        () => {
          const p = new GuestProgram();
          p.fn("guest_code", () => p.global("inner", { size: 8 }));
        },
        /inner: global declared inside the body of guest_code; declare globals at top level/,
      ],
    ];
    for (const [declare, message] of cases) {
      expect(declare).toThrow(GuestProgramError);
      expect(declare).toThrow(message);
    }
  });

  it("loadGlobal / storeGlobal take 1/2/4/8-byte globals; anything else is an error naming it", () => {
    const program = new GuestProgram().global("wide", { size: 16 }).global("word", { size: 4 });
    expect(() => program.fn("a", (f) => f.loadGlobal("wide"))).toThrow(
      /a: loadGlobal: global "wide" has 16 bytes; use f.symbol\("wide"\) with f.load\/f.store/,
    );
    expect(() => program.fn("b", (f) => f.storeGlobal("nothing", 1))).toThrow(
      /b: storeGlobal: "nothing" is not a data global/,
    );
    expect(() => program.fn("c", (f) => f.storeGlobal("word", f.add(f.loadGlobal("word"), 1)))).not.toThrow();
  });
});
