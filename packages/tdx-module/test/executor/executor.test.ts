// The real TdGuestExecutor: TDs built through SEAMCALLs with assembled guests that start at the
// reset vector, run on the x86 core, and reach the host through TDCALL.
import { describe, expect, it } from "vitest";
import {
  IMAGE_BASE,
  IMAGE_PAGES,
  imageWithResetVector,
  longModeGuest,
  tdvmcallOut,
} from "../../src/executor/guest-image.js";
import {
  ExitReason,
  getReg,
  regNum,
  statusToBigInt,
  TdxStatus as T,
  TdCpuExecutor,
  type TdVcpu,
} from "../../src/index.js";
import {
  addPage,
  buildTd,
  expectStatus,
  finalize,
  type Host,
  makeHost,
  mapSeptFor,
  OK,
  type TdHandle,
} from "../helpers.js";

const R = { RAX: 0, RCX: 1, RDX: 2, RBX: 3, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15 };

interface Booted {
  host: Host;
  td: TdHandle;
  executor: TdCpuExecutor;
  vcpu: TdVcpu;
  out: Int32Array;
  /** TDH.VP.ENTER; returns the exit reason (status low bits) after checking the status class. */
  enter(hostGpr?: Int32Array): number;
  reg(r: number): bigint;
}

function boot(image: Uint8Array, setup?: (host: Host, td: TdHandle) => void): Booted {
  const host = makeHost();
  const td = buildTd(host);
  for (let i = 0; i < IMAGE_PAGES; i++)
    addPage(host, td, IMAGE_BASE + i * 4096, image.subarray(i * 4096, (i + 1) * 4096));
  finalize(host, td);
  setup?.(host, td);
  const executor = new TdCpuExecutor();
  host.tdx.setGuestExecutor(executor);
  const tdvpr = td.vcpus[0]!;
  const out = new Int32Array(32);
  const b: Booted = {
    host,
    td,
    executor,
    vcpu: host.guest.vcpu(tdvpr)!,
    out,
    enter(hostGpr) {
      const status = statusToBigInt(host.tdx.enter(tdvpr, hostGpr, out));
      expect(status >> 32n).toBe(0n);
      return Number(status);
    },
    reg: (r) => getReg(out, r),
  };
  return b;
}

/** Host answer to a TDVMCALL: R10 = status 0 (and R11 = value for an IN). */
function hostAnswer(r11 = 0n): Int32Array {
  const g = new Int32Array(32);
  g[2 * R.R11] = Number(r11 & 0xffffffffn) | 0;
  return g;
}

describe("TdCpuExecutor: guests at the reset vector on the x86 core", () => {
  it("boots to long mode, does TDG.VP.INFO and TDVMCALL<Instruction.IO>; the host sees the exit and the guest resumes", () => {
    const b = boot(
      longModeGuest(`
  mov eax, 1 ; tdcall           # TDG.VP.INFO: RCX = GPAW, R9 = VCPU_INDEX
  mov rbx, rcx
  ${tdvmcallOut(0x3f8, "rbx")}
  mov rbx, r10                   # the host's status, then report it
  ${tdvmcallOut(0x3f9, "rbx")}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`),
    );
    expect(b.enter()).toBe(ExitReason.TDCALL);
    expect(b.reg(R.RCX)).toBe(0xfc00n); // the exposure bitmap
    expect(b.reg(R.R10)).toBe(0n);
    expect(b.reg(R.R11)).toBe(30n); // Instruction.IO
    expect(b.reg(R.R12)).toBe(4n);
    expect(b.reg(R.R13)).toBe(1n); // write
    expect(b.reg(R.R14)).toBe(0x3f8n);
    expect(b.reg(R.R15)).toBe(48n); // GPAW from TDG.VP.INFO
    expect(b.reg(R.RBX)).toBe(0n); // not exposed
    const answer = hostAnswer();
    answer[2 * R.R10] = 0x1234; // a status the guest passes back
    expect(b.enter(answer)).toBe(ExitReason.TDCALL);
    expect(b.reg(R.R14)).toBe(0x3f9n);
    expect(b.reg(R.R15)).toBe(0x1234n);
    // The TDVPS register copy follows the CPU at the exit.
    expect(regNum(b.vcpu.regs.gpr, R.RBX)).toBe(0x1234);
    expect(b.vcpu.regs.longMode64).toBe(true);
  });

  it("IN is a #VE through the guest's IDT with VE_INFO exit reason 30, the I/O qualification and length", () => {
    const b = boot(
      longModeGuest(`
  call 1f
1: pop rbp                       # rbp = this pop's address; the IN follows it (pop rbp is 1 byte)
  in al, 0x60
  ud2
ve_handler:
  mov eax, 3 ; tdcall            # TDG.VP.VEINFO.GET: RCX reason, RDX qualification, R10 length
  mov rbx, rcx ; mov rsi, rdx ; mov rdi, r10
  ${tdvmcallOut(0x10, "rbx")}
  ${tdvmcallOut(0x11, "rsi")}
  ${tdvmcallOut(0x12, "rdi")}
  pop rax                        # the #VE frame's RIP: the IN itself
  sub rax, rbp
  ${tdvmcallOut(0x13, "rax")}
gp_handler: ud_handler:
  jmp gp_handler`),
    );
    const seen: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      expect(b.enter(i ? hostAnswer() : undefined)).toBe(ExitReason.TDCALL);
      seen.push(b.reg(R.R15));
    }
    expect(seen[0]).toBe(30n);
    expect(seen[1]).toBe((0x60n << 16n) | 8n | 64n); // port 0x60, IN, immediate, size 1
    expect(seen[2]).toBe(2n);
    expect(seen[3]).toBe(1n); // the frame's RIP is the IN (RIP not advanced for #VE)
  });

  it('CPUID leaf 0x21 returns "IntelTDX    " from the module\'s CPUID virtualisation', () => {
    const b = boot(
      longModeGuest(`
  mov eax, 0x21 ; xor ecx, ecx ; cpuid
  mov r8d, ebx ; mov r9d, edx ; mov rsi, rcx
  ${tdvmcallOut(0x20, "r8")}
  ${tdvmcallOut(0x21, "r9")}
  ${tdvmcallOut(0x22, "rsi")}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`),
    );
    const words: number[] = [];
    for (let i = 0; i < 3; i++) {
      expect(b.enter(i ? hostAnswer() : undefined)).toBe(ExitReason.TDCALL);
      words.push(Number(b.reg(R.R15)));
    }
    const text = Buffer.from(new Uint32Array(words).buffer).toString("latin1");
    expect(text).toBe("IntelTDX    ");
  });

  it("TDG.MEM.PAGE.ACCEPT of a PENDING page: the guest then uses it; a second ACCEPT says PAGE_ALREADY_ACCEPTED", () => {
    const b = boot(
      longModeGuest(`
  mov eax, 6 ; mov ecx, 0x1000 ; tdcall
  mov rbx, rax
  ${tdvmcallOut(0x30, "rbx")}
  mov DWORD PTR [0x1008], 0x5a5a1234
  mov ebx, DWORD PTR [0x1008]
  ${tdvmcallOut(0x31, "rbx")}
  mov eax, 6 ; mov ecx, 0x1000 ; tdcall
  mov rbx, rax
  ${tdvmcallOut(0x32, "rbx")}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`),
      (host, td) => {
        mapSeptFor(host, td, 0x1000);
        expectStatus(host.tdx.tdhMemPageAug(0x1000, 0, td.tdr, host.memory.allocPage()), OK);
      },
    );
    expect(b.enter()).toBe(ExitReason.TDCALL);
    expect(b.reg(R.R15)).toBe(0n);
    expect(b.enter(hostAnswer())).toBe(ExitReason.TDCALL);
    expect(b.reg(R.R15)).toBe(0x5a5a1234n);
    expect(b.enter(hostAnswer())).toBe(ExitReason.TDCALL);
    expect(b.reg(R.R15) >> 32n).toBe(T.TDX_PAGE_ALREADY_ACCEPTED >> 32n);
  });

  it("code decoded from a page is gone after the host replaces the page and the guest ACCEPTs it (zeroed)", () => {
    const b = boot(
      longModeGuest(`
  mov eax, 6 ; mov ecx, 0x1000 ; tdcall
  mov rax, 0xc300001111bb        # mov ebx, 0x1111 ; ret
  mov QWORD PTR [0x1000], rax
  mov eax, 0x1000 ; call rax     # decoded (and cached) from GPA 0x1000
  ${tdvmcallOut(0x50, "rbx")}
  mov eax, 6 ; mov ecx, 0x1000 ; tdcall
  mov rbx, rax
  ${tdvmcallOut(0x51, "rbx")}
  xor ebx, ebx
  mov eax, 0x1000 ; call rax     # now zeros: ADD [RAX], AL up to 0x2000, where no page is mapped
  ${tdvmcallOut(0x52, "rbx")}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`),
      (host, td) => {
        mapSeptFor(host, td, 0x1000);
        expectStatus(host.tdx.tdhMemPageAug(0x1000, 0, td.tdr, host.memory.allocPage()), OK);
      },
    );
    expect(b.enter()).toBe(ExitReason.TDCALL);
    expect(b.reg(R.R14)).toBe(0x50n);
    expect(b.reg(R.R15)).toBe(0x1111n);
    // The host replaces the page: BLOCK, TRACK, REMOVE, then AUG a fresh (PENDING) one.
    const { tdx } = b.host;
    expectStatus(tdx.tdhMemRangeBlock(0x1000, 0, b.td.tdr), OK);
    expectStatus(tdx.tdhMemTrack(b.td.tdr), OK);
    expectStatus(tdx.tdhMemPageRemove(0x1000, 0, b.td.tdr), OK);
    expectStatus(tdx.tdhMemPageAug(0x1000, 0, b.td.tdr, b.host.memory.allocPage()), OK);
    expect(b.enter(hostAnswer())).toBe(ExitReason.TDCALL);
    expect(b.reg(R.R14)).toBe(0x51n);
    expect(b.reg(R.R15)).toBe(0n); // ACCEPT succeeded
    // A stale block would report 0x1111 on port 0x52; the zeroed page runs into unmapped 0x2000.
    expect(b.enter(hostAnswer())).toBe(ExitReason.EPT_VIOLATION);
    expect(b.reg(8)).toBe(0x2000n); // R8: the faulting GPA
  });

  it("a PENDING page touched before ACCEPT is a #VE with exit reason 48 and the GPA", () => {
    const b = boot(
      longModeGuest(`
  mov eax, DWORD PTR [0x1010]
  ud2
ve_handler:
  mov eax, 3 ; tdcall
  mov rbx, rcx ; mov rsi, r9
  ${tdvmcallOut(0x40, "rbx")}
  ${tdvmcallOut(0x41, "rsi")}
gp_handler: ud_handler:
  jmp gp_handler`),
      (host, td) => {
        mapSeptFor(host, td, 0x1000);
        expectStatus(host.tdx.tdhMemPageAug(0x1000, 0, td.tdr, host.memory.allocPage()), OK);
      },
    );
    expect(b.enter()).toBe(ExitReason.TDCALL);
    expect(b.reg(R.R15)).toBe(48n);
    expect(b.enter(hostAnswer())).toBe(ExitReason.TDCALL);
    expect(b.reg(R.R15)).toBe(0x1010n);
  });

  it("an unmapped private GPA is a TD exit: EPT violation with the GPA in R8", () => {
    const b = boot(
      longModeGuest(`
  mov DWORD PTR [0x3000], 1
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`),
    );
    expect(b.enter()).toBe(ExitReason.EPT_VIOLATION);
    expect(b.reg(8)).toBe(0x3000n);
    expect(b.reg(R.RCX) & 7n).toBe(2n); // write access
  });

  it("TDCALL in 32-bit protected mode is #GP(0)", () => {
    const image = imageWithResetVector(`
.code32
stack:   .zero 4096
stack_top:
start:
  lea esp, stack_top
  lea eax, gp_handler
  mov WORD PTR idt+104, ax
  shr eax, 16
  mov WORD PTR idt+110, ax
  lgdt gdtr
  lidt idtr
  mov eax, 1
  tdcall
  ud2
gp_handler:
  pop eax                        # the error code
  mov ebx, 0x600d
1: jmp 1b
.align 8, 0
gdt:  .quad 0, 0x00CF9B000000FFFF
gdtr: .word 15
      .long gdt
idtr: .word 111
      .long idt
.align 8, 0
idt:  .zero 104
      .word 0, 0x08, 0x8e00, 0
`);
    const b = boot(image);
    expect(b.enter()).toBe(ExitReason.EXTERNAL_INTERRUPT); // the budget: the handler spins
    const regs = b.executor.cpuOf(b.vcpu)!.getRegs();
    expect(regs.rbx).toBe(0x600dn);
    expect(regs.rax).toBe(0n); // #GP error code 0
    expect(regNum(b.vcpu.regs.gpr, R.RBX)).toBe(0x600d);
    expect(b.vcpu.regs.longMode64).toBe(false);
  });

  it("a guest without an IDT that faults is a triple fault: TDX_NON_RECOVERABLE_VCPU", () => {
    const b = boot(imageWithResetVector(".code32\nstart:\n  ud2\n"));
    const status = statusToBigInt(b.host.tdx.enter(b.td.vcpus[0]!, undefined, b.out));
    expect(status).toBe(T.TDX_NON_RECOVERABLE_VCPU + BigInt(ExitReason.TRIPLE_FAULT));
  });
});
