// An instruction that crosses a 4 KiB page boundary is decoded once and served from the block
// cache, yet a store to either page, a remap of the second page (PTE change + INVLPG) and a
// not-present second page (#PF, CR2 = that page) are all seen as on the CPU.
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
import { guest64, peek64, STACK, stubVector } from "./harness.js";

const PD = 0x3000; // the harness's page directory (2 MiB pages)
const PT = 0x9000; // our 4 KiB page table for linear 0x400000..0x5fffff (identity)
const LOOP = 0x400ffa; // nop x3, then `add eax, imm32` at 0x400ffd: 3 bytes here, 2 on the next page
const CROSS = 0x400ffd;
const PAGE2 = 0x401000;
const ALT2 = 0x402000; // another physical page the second linear page can be remapped to

function u64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}

/** Guest whose `source` (at CODE) calls/jumps into the loop at LOOP; `tail` is assembled after the crossing add. */
function setup(source: string, imm: number, tail: string, compileThreshold: number) {
  const g = guest64(source, { compileThreshold });
  const w = (gpa: number, b: Uint8Array) => writeGuestPhysical(g.map, gpa, b);
  for (let i = 0; i < 512; i++) w(PT + i * 8, u64((0x400000 + i * 0x1000) | 7));
  w(PD + 2 * 8, u64(PT | 7));
  // nop x3; add eax, imm32 (opcode 05: the assembler would pick the imm8 form for small values)
  w(
    LOOP,
    new Uint8Array([0x90, 0x90, 0x90, 0x05, imm & 0xff, (imm >>> 8) & 0xff, (imm >>> 16) & 0xff, imm >>> 24]),
  );
  const rest = assembleText(tail, { mode: 64, origin: LOOP + 8 }).bytes;
  w(LOOP + 8, rest);
  // The same bytes on the alternative page, except the add's immediate bytes 2..3 (0x0002 there).
  w(ALT2, new Uint8Array([2, 0]));
  w(ALT2 + 2, rest);
  return g;
}

// Back to LOOP through RSI (the entry code sets it): no numeric jump targets in `tail`.
const LOOP_TAIL = "dec ecx\njz done\njmp rsi\ndone: ret";

describe("a page-crossing instruction in a hot loop", () => {
  for (const threshold of [0, 5]) {
    it(`is decoded once (compileThreshold ${threshold})`, () => {
      const g = setup(
        `mov ecx, 3000\nxor eax, eax\nmov rsi, ${LOOP}\ncall rsi\nhlt`,
        0x10003,
        LOOP_TAIL,
        threshold,
      );
      expect(g.cpu.run(1e6).reason).toBe("hlt");
      expect(g.cpu.r[0] >>> 0).toBe((3000 * 0x10003) >>> 0);
      // Entry up to the call, nop x3, the crossing add, the tail up to `jmp rsi`, `ret`, the final
      // hlt: each decoded once, the 2999 further passes served from the cache.
      expect(g.cpu.blocksDecoded).toBe(6);
    });

    it(`sees a store to the first page's bytes of the instruction (compileThreshold ${threshold})`, () => {
      // Each pass adds the immediate, then stores its counter into the immediate's byte 1 (first page).
      const tail = `inc ebx\nmov [${CROSS + 2}], bl\n${LOOP_TAIL}`;
      const g = setup(
        `mov ecx, 300\nxor eax, eax\nxor ebx, ebx\nmov rsi, ${LOOP}\ncall rsi\nhlt`,
        0,
        tail,
        threshold,
      );
      expect(g.cpu.run(1e6).reason).toBe("hlt");
      let sum = 0;
      for (let k = 1; k <= 300; k++) sum += ((k - 1) & 0xff) << 8;
      expect(g.cpu.r[0] >>> 0).toBe(sum >>> 0);
    });

    it(`sees a store to the second page's bytes of the instruction (compileThreshold ${threshold})`, () => {
      const tail = `inc ebx\nmov [${PAGE2}], bl\n${LOOP_TAIL}`;
      const g = setup(
        `mov ecx, 300\nxor eax, eax\nxor ebx, ebx\nmov rsi, ${LOOP}\ncall rsi\nhlt`,
        0,
        tail,
        threshold,
      );
      expect(g.cpu.run(1e6).reason).toBe("hlt");
      let sum = 0;
      for (let k = 1; k <= 300; k++) sum += ((k - 1) & 0xff) << 16;
      expect(g.cpu.r[0] >>> 0).toBe(sum >>> 0);
    });

    it(`sees the second page remapped by a PTE change + INVLPG (compileThreshold ${threshold})`, () => {
      const src = [
        `mov rsi, ${LOOP}`,
        "mov ecx, 100\nxor eax, eax\ncall rsi\nmov r8, rax",
        `mov rdi, ${PT + 8}\nmov qword ptr [rdi], ${ALT2 | 7}\nmov rdi, ${PAGE2}\ninvlpg [rdi]`,
        "mov ecx, 100\nxor eax, eax\ncall rsi\nhlt",
      ].join("\n");
      const g = setup(src, 0x10000, LOOP_TAIL, threshold);
      expect(g.cpu.run(1e6).reason).toBe("hlt");
      expect(g.cpu.r[16] >>> 0).toBe(100 * 0x10000); // r8: through the first mapping
      expect(g.cpu.r[0] >>> 0).toBe(100 * 0x20000); // through the remapped page
    });
  }

  /** #PF details after entering the crossing add with its second page not present. */
  function faultOnSecondPage(warm: boolean) {
    const src = [
      `mov rsi, ${LOOP}`,
      warm ? "mov ecx, 50\nxor eax, eax\ncall rsi" : "",
      `mov rdi, ${PT + 8}\nmov qword ptr [rdi], 0\nmov rdi, ${PAGE2}\ninvlpg [rdi]`,
      "mov ecx, 50\nxor eax, eax\ncall rsi\nhlt",
    ].join("\n");
    const g = setup(src, 0x10000, LOOP_TAIL, 5);
    expect(g.cpu.run(1e6).reason).toBe("hlt");
    const sp = (g.cpu.r[8] >>> 0) + (g.cpu.r[9] >>> 0) * 2 ** 32;
    return {
      vector: stubVector(g.cpu),
      cr2: [g.cpu.st.cr2Lo >>> 0, g.cpu.st.cr2Hi >>> 0],
      error: peek64(g.mem, sp),
      rip: peek64(g.mem, sp + 8),
      eax: g.cpu.r[0],
      sp,
    };
  }

  it("raises #PF with CR2 = the second page when it is not present, cached or not", () => {
    const cold = faultOnSecondPage(false);
    const warm = faultOnSecondPage(true);
    for (const f of [cold, warm]) {
      expect(f.vector).toBe(14);
      expect(f.cr2).toEqual([PAGE2, 0]);
      expect(f.rip).toBe(BigInt(CROSS)); // the add did not execute
      expect(f.error).toBe(0x10n); // not present, instruction fetch (EFER.NXE = 1)
      expect(f.eax).toBe(0);
      expect(f.sp).toBeLessThan(STACK);
    }
    expect(warm).toEqual(cold);
  });
});

describe("a page-crossing instruction that wraps EIP past 4 GiB (32-bit code, paging off)", () => {
  for (const threshold of [0, 5]) {
    it(`is served from the cache and wraps (compileThreshold ${threshold})`, () => {
      const GIB4 = 2 ** 32;
      const mem = new SparseMemory(GIB4);
      const map = new FlatGuestPhysicalMap(mem);
      const cpu = new Cpu({ map, compileThreshold: threshold });
      // 0xfffffff8: nop x6, then `add eax, 0x10003` at 0xfffffffe (2 bytes there, 3 at 0); at 3 the tail.
      writeGuestPhysical(map, GIB4 - 8, new Uint8Array([0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x05, 0x03]));
      writeGuestPhysical(map, 0, new Uint8Array([0x00, 0x01, 0x00]));
      writeGuestPhysical(
        map,
        3,
        assembleText("dec ecx\njz done\njmp esi\ndone: hlt", { mode: 32, origin: 3 }).bytes,
      );
      const st = cpu.st;
      st.cr0 = CR0_PE | CR0_ET;
      const data = AR_P | AR_S | 0x3 | AR_DB | AR_G;
      for (let s = 0; s < 6; s++) setSegment(st.seg, s, 0x10, 0, 0, -1, data);
      setSegment(st.seg, SEG_CS, 0x08, 0, 0, -1, AR_P | AR_S | 0xb | AR_DB | AR_G);
      writeRflags(st.r, 0x2);
      st.r[32] = (GIB4 - 8) | 0;
      st.r[33] = 0;
      st.r[2] = 2000; // ECX
      st.r[12] = (GIB4 - 8) | 0; // ESI
      cpu.syncMode();
      expect(cpu.run(1e6).reason).toBe("hlt");
      expect(cpu.r[0] >>> 0).toBe((2000 * 0x10003) >>> 0);
      expect(cpu.r[33]).toBe(0);
      // nop x6, the add, the tail up to `jmp esi`, the hlt: each decoded once.
      expect(cpu.blocksDecoded).toBe(4);
    });
  }
});
