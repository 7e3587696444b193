// The gcc-built C guest (test/guests/tdx-success.c) through the host half: loaded by loadElf,
// placed by tdInitialize, entered by tdVcpuAdd's boot record, measured by tdFinalize — and the
// pages td_finalize loads boot on the real CPU to the guest's success TDVMCALL, and KVM_RUN
// runs the TD to its KVM_EXIT_IO on port 0x30.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KvmProcess } from "@tdxsim/kvm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadElf,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdVcpuAdd,
  tdxRun,
  tdxTestAssertSuccess,
} from "../../src/index.js";
import { type CompiledGuest, compileGuests, type GuestBuild, gccAvailable } from "../elf/gcc-guest.js";
import { GPR } from "../guest/guest-cpu.js";
import { bootLoadedPages, supportedCpuid } from "./td-fixture.js";

const SOURCE = readFileSync(fileURLToPath(new URL("../guests/tdx-success.c", import.meta.url)), "utf8");

describe.skipIf(!gccAvailable())("a gcc-built ELF guest through the host half", () => {
  let guests: Record<GuestBuild, CompiledGuest>;
  let cleanup: () => void;
  beforeAll(() => {
    ({ guests, cleanup } = compileGuests(SOURCE));
  });
  afterAll(() => cleanup());

  for (const build of ["exec", "pie"] as const) {
    it(`${build}: boots from the reset vector to Instruction.IO(0x30, 4, OUT); the TD finalizes`, () => {
      const elf = loadElf(guests[build].bytes, build === "pie" ? { loadBase: 0x60_0000 } : {});
      const td = tdCreate({ process: new KvmProcess({ supportedCpuid: supportedCpuid() }) });
      tdInitialize(td, { image: elf.chunks, memorySize: 16 << 20 });
      tdVcpuAdd(td, 0, elf.entry);
      const calls: bigint[][] = [];
      const m = bootLoadedPages(td, (regs) => {
        calls.push([...regs]);
        return true;
      });
      expect(m.run()).toBe("tdcall-exit");
      const c = calls[0]!;
      expect([c[GPR.rax], c[GPR.rcx], c[GPR.r10], c[GPR.r11]]).toEqual([0n, 0xfc00n, 0n, 30n]);
      expect([c[GPR.r12], c[GPR.r13], c[GPR.r14], c[GPR.r15]]).toEqual([4n, 1n, 0x30n, 0n]);
      tdFinalize(td);
      expect(td.vm.td.state).toBe("runnable");
      // And through KVM_RUN on kvm's x86 executor: the success report on port 0x30.
      tdxTestAssertSuccess(tdxRun(td));
    });
  }
});
