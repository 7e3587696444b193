// The decoded-block cache and the compiled-block tier: code on the last linear page below 4 GiB
// (the TD reset vector's page) is cached like any other, RIP carries past a page end, and a
// compiled block behaves exactly like the interpreted one (faults, budgets, self-modifying code).
import { SparseMemory } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import { assembleText } from "../../src/asm/index.js";
import {
  AR_DB,
  AR_G,
  AR_P,
  AR_S,
  Cpu,
  CR0_ET,
  CR0_PE,
  FlatGuestPhysicalMap,
  SEG_CS,
  setSegment,
  writeGuestPhysical,
  writeRflags,
} from "../../src/index.js";
import { guest64, peek64, reg, rip, stubVector } from "./harness.js";

const GIB4 = 2 ** 32;

/** A 32-bit flat protected-mode CPU (paging off, as a TD vCPU starts) over 4 GiB of sparse memory, code at `origin`. */
function flat32(source: string, origin: number, compileThreshold?: number) {
  const mem = new SparseMemory(GIB4);
  const map = new FlatGuestPhysicalMap(mem);
  const cpu = new Cpu({ map, compileThreshold });
  const { bytes } = assembleText(source, { mode: 32, origin });
  writeGuestPhysical(map, origin, bytes);
  const st = cpu.st;
  st.cr0 = CR0_PE | CR0_ET;
  const data = AR_P | AR_S | 0x3 | AR_DB | AR_G;
  for (let s = 0; s < 6; s++) setSegment(st.seg, s, 0x10, 0, 0, -1, data);
  setSegment(st.seg, SEG_CS, 0x08, 0, 0, -1, AR_P | AR_S | 0xb | AR_DB | AR_G);
  writeRflags(st.r, 0x2);
  st.r[32] = origin | 0;
  st.r[33] = 0;
  cpu.syncMode();
  return { cpu, mem };
}

const LOOP32 = "mov ecx, 5000\nxor eax, eax\nagain: add eax, 3\ndec ecx\njnz again\nhlt";

describe("block cache on linear page 0xFFFFF000", () => {
  for (const threshold of [0, 200]) {
    it(`runs a loop there from the cache (compileThreshold ${threshold})`, () => {
      const { cpu } = flat32(LOOP32, 0xfffff800, threshold);
      expect(cpu.run(1e6).reason).toBe("hlt");
      expect(cpu.r[0]).toBe(15000);
      expect(cpu.st.retired).toBe(2 + 3 * 5000 + 1);
      // Two blocks (entry through HLT — a Jcc does not end a block — and the loop body from
      // `again`), each decoded once: the other 4999 passes are served from the cache.
      expect(cpu.blocksDecoded).toBe(2);
      expect(cpu.blocksCompiled).toBe(threshold === 0 ? 0 : 1);
    });
  }

  it("an instruction ending exactly at 4 GiB leaves EIP = 0 in 32-bit code", () => {
    // nop; nop ... the last byte of the page is a 1-byte NOP; EIP wraps to 0 where a HLT waits.
    const { cpu, mem } = flat32("nop\nnop\nnop\nnop", GIB4 - 4);
    writeGuestPhysical(new FlatGuestPhysicalMap(mem), 0, new Uint8Array([0xf4]));
    expect(cpu.run(100).reason).toBe("hlt");
    expect(cpu.r[32]).toBe(1);
    expect(cpu.r[33]).toBe(0);
  });
});

describe("compiled blocks behave like interpreted ones", () => {
  const program = [
    "mov rcx, 3000",
    "xor eax, eax",
    "mov rbx, 0x300000",
    "again: add rax, rcx",
    "mov [rbx + rcx * 8], rax",
    "shl rax, 1",
    "shr rax, 1",
    "sub rcx, 1",
    "jnz again",
    "mov rdx, [rbx + 8]",
    "rdtsc",
    "hlt",
  ].join("\n");

  // A loop closed by a JMP back to the block start (the Jcc leaving it sits mid-block); EBX sums
  // the TSC read on every pass, so the retired count seen inside compiled loops is checked too.
  const jmpLoop = [
    "mov ecx, 1000",
    "top: dec ecx",
    "jz done",
    "rdtsc",
    "add ebx, eax",
    "jmp top",
    "done: hlt",
  ].join("\n");

  function runWith(threshold: number, budget: number, source = program) {
    const g = guest64(source, { compileThreshold: threshold });
    const stops: string[] = [];
    for (;;) {
      const s = g.cpu.run(budget);
      stops.push(s.reason);
      if (s.reason !== "budget-exhausted") break;
    }
    return { g, stops };
  }

  it("same registers, retired count, RIP and TSC with and without compilation, under small budgets", () => {
    for (const [source, budget] of [program, jmpLoop].flatMap((src) =>
      [1e9, 7, 1000].map((b) => [src, b] as const),
    )) {
      const a = runWith(0, budget, source);
      const b = runWith(1, budget, source);
      expect(b.g.cpu.blocksCompiled).toBeGreaterThan(0);
      expect(a.g.cpu.blocksCompiled).toBe(0);
      expect(b.stops).toEqual(a.stops);
      for (let n = 0; n < 16; n++) expect(reg(b.g.cpu, n)).toBe(reg(a.g.cpu, n));
      expect(b.g.cpu.st.retired).toBe(a.g.cpu.st.retired);
      expect(rip(b.g.cpu)).toBe(rip(a.g.cpu));
    }
  });

  it("a fault inside a compiled loop reports the faulting instruction's RIP and retired count", () => {
    const src = [
      "mov rcx, 500",
      "mov rbx, 0x300000",
      "again: mov rax, [rbx]",
      "add rbx, 8",
      "sub rcx, 1",
      "jnz again",
      "mov rbx, 0x8000000000000000",
      "fault: mov rax, [rbx]",
      "hlt",
    ].join("\n");
    for (const threshold of [0, 50]) {
      const { cpu, mem, labels } = guest64(src, { compileThreshold: threshold });
      expect(cpu.run(1e6).reason).toBe("hlt");
      expect(stubVector(cpu)).toBe(13);
      // 2 + 500 passes of 4 + `mov rbx` + the stub's HLT; the faulting MOV does not retire.
      expect(cpu.st.retired).toBe(2 + 4 * 500 + 1 + 1);
      // The #GP frame: error code at RSP, then the faulting instruction's RIP.
      expect(peek64(mem, Number(reg(cpu, 4)) + 8)).toBe(labels.get("fault"));
    }
  });

  it("self-modifying code in a hot loop is seen by the next pass", () => {
    // The loop rewrites the imm32 of its own `add eax, imm32` (opcode 05) when ECX = 300.
    const src = [
      "mov ecx, 600",
      "xor eax, eax",
      "again: add eax, 0x11111",
      "cmp ecx, 300",
      "jne skip",
      "mov dword ptr [again + 1], 0x22222",
      "skip: dec ecx",
      "jnz again",
      "hlt",
    ].join("\n");
    for (const threshold of [0, 10]) {
      const { cpu } = guest64(src, { compileThreshold: threshold });
      expect(cpu.run(1e6).reason).toBe("hlt");
      // 301 passes (ECX 600..300) add the old immediate, 299 passes the new one.
      expect(cpu.r[0]).toBe(301 * 0x11111 + 299 * 0x22222);
    }
  });
});

describe("stops requested without an exception (requestStop)", () => {
  it("TDCALL in a hot compiled loop stops at the TDCALL each pass, retiring it on skipInstruction", () => {
    const { cpu, labels } = guest64("again: inc ebx\nat: tdcall\njmp again", { compileThreshold: 5 });
    for (let pass = 1; pass <= 300; pass++) {
      const stop = cpu.run(1000);
      expect(stop.reason).toBe("tdcall");
      expect(BigInt(rip(cpu))).toBe(labels.get("at"));
      expect(cpu.r[6]).toBe(pass); // EBX
      expect(cpu.st.retired).toBe(3 * pass - 2); // the TDCALL itself not yet
      cpu.skipInstruction();
      expect(cpu.st.retired).toBe(3 * pass - 1);
    }
    expect(cpu.blocksCompiled).toBeGreaterThan(0);
  });
});

describe("Jcc conditions tested inline by compiled blocks", () => {
  const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
  const values = [0, 1, -1, 0x7fffffff, -0x80000000, 5, 0x80, -2];
  for (const width of ["eax, ebx", "rax, rbx"]) {
    it(`all 16 conditions after cmp ${width} agree with the interpreter`, () => {
      for (const cc of CC) {
        // Taken, the Jcc loops back to the block start, which a compiled block does without
        // leaving its function (only the inline test decides); ECX counts the passes.
        const src = `top: inc ecx\ncmp ${width}\nj${cc} top\nhlt`;
        const guests = [0, 1].map((t) => guest64(src, { compileThreshold: t }).cpu);
        for (const a of values)
          for (const b of values) {
            const got = guests.map((cpu) => {
              cpu.r[0] = a;
              cpu.r[1] = a >> 31; // RAX = a sign-extended
              cpu.r[6] = b;
              cpu.r[7] = b >> 31;
              cpu.r[2] = 0;
              cpu.r[32] = 0x100000;
              cpu.r[33] = 0;
              cpu.st.halted = false;
              return `${cpu.run(31).reason} ${cpu.r[2]}`;
            });
            expect(got[1], `j${cc} after cmp ${width} with ${a}, ${b}`).toBe(got[0]);
          }
        expect(guests[1].blocksCompiled).toBeGreaterThan(0);
      }
    });
  }
});
