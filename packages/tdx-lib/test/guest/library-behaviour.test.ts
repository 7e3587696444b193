// Runs the guest library's routines on the real @tdxsim/x86 CPU, with TDCALL answered by the
// test (as the TDX module and the VMM would), and checks registers and memory.
import { decodeInto, R_LEN, RECORD_STRIDE } from "@tdxsim/x86";
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  EX_REGS,
  GuestProgram,
  tdxVeUnhandledErrorCode,
  VE_VECTOR,
} from "../../src/index.js";
import { GPR, GuestCpu } from "./guest-cpu.js";
import { defineSumTo } from "./sample-programs.js";

const ORIGIN = 0x40_0000;
const DATA = 0x60_0000n; // scratch buffers for pointer arguments

type Regs = bigint[];
const R = GPR;

function machine(onTdcall: (regs: Regs, calls: Regs[]) => void, program?: GuestProgram) {
  const image = assembleGuestImage({ origin: ORIGIN, program });
  const calls: Regs[] = [];
  const m = new GuestCpu((regs) => {
    calls.push([...regs]);
    onTdcall(regs, calls);
  }).long64();
  m.load(image.origin, image.bytes);
  const run = (name: string, ...args: (bigint | number)[]) => m.call(image.symbol(name), args.map(BigInt));
  return { m, image, calls, run };
}

/** A VMM that answers every TDVMCALL with status 0 and R11 = `r11`. */
const vmmSuccess =
  (r11 = 0n) =>
  (regs: Regs) => {
    regs[R.r10] = 0n;
    regs[R.r11] = r11;
  };

describe("TDVMCALLs as executed", () => {
  it("tdx_test_success: TDCALL(0), RCX 0xFC00, R11 30, R12 4, R13 1 (OUT), R14 0x30, R15 0", () => {
    const { calls, run } = machine(vmmSuccess());
    run("tdx_test_success");
    expect(calls).toHaveLength(1);
    const regs = calls[0];
    expect([
      regs[R.rax],
      regs[R.rcx],
      regs[R.r10],
      regs[R.r11],
      regs[R.r12],
      regs[R.r13],
      regs[R.r14],
      regs[R.r15],
    ]).toEqual([0n, 0xfc00n, 0n, 30n, 4n, 1n, 0x30n, 0n]);
  });

  it("an IO read returns R11 through *data and the status from R10; callee-saved registers survive", () => {
    const { m, calls, run } = machine((regs) => {
      // the VMM sees and may change R10–R15 only
      for (const r of [R.r12, R.r13, R.r14, R.r15]) regs[r] = 0xbad0n;
      regs[R.r10] = 0n;
      regs[R.r11] = 0xabn;
    });
    const saved = [R.rbx, R.rbp, R.r12, R.r13, R.r14, R.r15].map((r, i) => {
      m.regs[r] = 0x1111_0000n + BigInt(i);
      return m.regs[r];
    });
    m.write(DATA, 8, 0x5555n);
    const status = run("tdg_vp_vmcall_instruction_io", 0x52, 1, 0, DATA);
    expect(status).toBe(0n);
    expect(m.read(DATA, 8)).toBe(0xabn);
    expect(calls[0][R.r15]).toBe(0n); // no data on a read
    expect(calls[0][R.r13]).toBe(0n);
    expect([R.rbx, R.rbp, R.r12, R.r13, R.r14, R.r15].map((r) => m.regs[r])).toEqual(saved);
  });

  it("an IO write sends *data in R15 and returns the VMM's error status", () => {
    const { m, calls, run } = machine((regs) => {
      regs[R.r10] = 0x8000_0000_0000_0000n;
    });
    m.write(DATA, 8, 0xabcdn);
    expect(run("tdg_vp_vmcall_instruction_io", 0x51, 2, 1, DATA)).toBe(0x8000_0000_0000_0000n);
    expect([calls[0][R.r12], calls[0][R.r13], calls[0][R.r14], calls[0][R.r15]]).toEqual([
      2n,
      1n,
      0x51n,
      0xabcdn,
    ]);
  });

  it("tdg_vp_vmcall_instruction_cpuid: u32 leaf/subleaf in, R12–R15 out as u32s", () => {
    const { m, calls, run } = machine((regs) => {
      regs[R.r10] = 0n;
      [regs[R.r12], regs[R.r13], regs[R.r14], regs[R.r15]] = [0x11n, 0x22n, 0x33n, 0xffff_ffff_0000_0044n];
    });
    for (let i = 0; i < 4; i++) m.write(DATA + BigInt(8 * i), 8, 0x7777_7777_7777_7777n);
    run(
      "tdg_vp_vmcall_instruction_cpuid",
      0xffff_ffff_0000_0001n,
      7,
      DATA,
      DATA + 8n,
      DATA + 16n,
      DATA + 24n,
    );
    expect([calls[0][R.r11], calls[0][R.r12], calls[0][R.r13]]).toEqual([10n, 1n, 7n]);
    expect([0, 1, 2, 3].map((i) => m.read(DATA + BigInt(8 * i), 8))).toEqual([
      0x7777_7777_0000_0011n,
      0x7777_7777_0000_0022n,
      0x7777_7777_0000_0033n,
      0x7777_7777_0000_0044n,
    ]);
  });

  it("get_td_vmcall_info skips NULL pointers", () => {
    const { m, run } = machine((regs) => {
      regs[R.r10] = 0n;
      [regs[R.r11], regs[R.r12], regs[R.r13], regs[R.r14]] = [1n, 2n, 3n, 4n];
    });
    run("tdg_vp_vmcall_get_td_vmcall_info", DATA, 0, DATA + 16n, 0);
    expect([m.read(DATA, 8), m.read(DATA + 8n, 8), m.read(DATA + 16n, 8)]).toEqual([1n, 0n, 3n]);
  });

  it("tdx_test_fatal_with_data sets bit 63 of the code when data is given; tdx_test_fatal passes 0", () => {
    const { calls, run } = machine(vmmSuccess());
    run("tdx_test_fatal_with_data", 0x0baa_aaad_0000_0000n, 42);
    run("tdx_test_fatal", 0x0baa_aaad_0000_0000n);
    expect(calls.map((c) => [c[R.r11], c[R.r12], c[R.r13]])).toEqual([
      [0x10003n, 0x8baa_aaad_0000_0000n, 42n],
      [0x10003n, 0x0baa_aaad_0000_0000n, 0n],
    ]);
  });

  it("tdx_test_send_64bit: low half then high half on the port; a failing first write stops", () => {
    const ok = machine(vmmSuccess());
    ok.run("tdx_test_report_64bit_to_user_space", 0x1122_3344_5566_7788n);
    expect(ok.calls.map((c) => [c[R.r12], c[R.r14], c[R.r15]])).toEqual([
      [4n, 0x31n, 0x5566_7788n],
      [4n, 0x31n, 0x1122_3344n],
    ]);
    const failing = machine((regs) => {
      regs[R.r10] = 1n;
    });
    expect(failing.run("tdx_test_send_64bit", 0x87, 5)).toBe(1n);
    expect(failing.calls).toHaveLength(1);
  });
});

describe("TDCALL leaves as executed", () => {
  it("tdg_vp_info stores RCX, RDX, R8–R11 through its six pointers", () => {
    const { m, calls, run } = machine((regs) => {
      regs[R.rax] = 0n;
      [regs[R.rcx], regs[R.rdx], regs[R.r8], regs[R.r9], regs[R.r10], regs[R.r11]] = [
        48n,
        0n,
        0x1_0000_0001n,
        0n,
        1n,
        0n,
      ];
    });
    const ptrs = [0, 1, 2, 3, 4, 5].map((i) => DATA + BigInt(8 * i));
    for (const p of ptrs) m.write(p, 8, 0xffn);
    expect(run("tdg_vp_info", ...ptrs)).toBe(0n);
    expect(calls[0][R.rax]).toBe(1n);
    expect(ptrs.map((p) => m.read(p, 8))).toEqual([48n, 0n, 0x1_0000_0001n, 0n, 1n, 0n]);
  });

  it("tdg_mem_page_accept: RAX 6, RCX = gpa | level; the status comes back", () => {
    const { calls, run } = machine((regs) => {
      regs[R.rax] = 0xc000_0b0a_0000_0000n; // TDX_PAGE_ALREADY_ACCEPTED
    });
    expect(run("tdg_mem_page_accept", 0x8010_0000n, 0x101)).toBe(0xc000_0b0a_0000_0000n);
    expect([calls[0][R.rax], calls[0][R.rcx], calls[0][R.rdx]]).toEqual([6n, 0x8010_0001n, 0n]);
  });

  it("tdg_mr_report and tdg_mr_rtmr_extend put their GPAs in RCX/RDX/R8", () => {
    const { calls, run } = machine((regs) => {
      regs[R.rax] = 0n;
    });
    run("tdg_mr_report", 0x1000, 0x2000, 0);
    run("tdg_mr_rtmr_extend", 0x3000, 2);
    expect(calls.map((c) => [c[R.rax], c[R.rcx], c[R.rdx], c[R.r8]])).toEqual([
      [4n, 0x1000n, 0x2000n, 0n],
      [2n, 0x3000n, 2n, 0n],
    ]);
  });

  it("tdg_vp_veinfo_get fills struct ve_info from RCX, RDX, R8, R9 and R10's halves", () => {
    const { m, run } = machine((regs) => {
      regs[R.rax] = 0n;
      [regs[R.rcx], regs[R.rdx], regs[R.r8], regs[R.r9], regs[R.r10]] = [
        48n,
        0x181n,
        0x9000_0000n,
        0x8000_0000n,
        0x7_0000_0003n,
      ];
    });
    run("tdg_vp_veinfo_get", DATA);
    expect([0, 8, 16, 24].map((o) => m.read(DATA + BigInt(o), 8))).toEqual([
      48n,
      0x181n,
      0x9000_0000n,
      0x8000_0000n,
    ]);
    expect([m.read(DATA + 32n, 4), m.read(DATA + 36n, 4)]).toEqual([3n, 7n]);
  });
});

describe("builder programs as executed", () => {
  it("loops, arithmetic and calls compute what the C would", () => {
    const g = new GuestProgram();
    defineSumTo(g);
    g.fn("signed_mix", { params: 2 }, (f, a, b) => {
      const buf = f.array(16);
      f.store(2, buf.address, f.udiv(a, b));
      f.if(
        f.slt(a, b),
        () => f.ret(f.sar(a, 1)),
        () => f.ret(f.add(f.load(2, buf.address), f.urem(a, b))),
      );
    });
    const { run } = machine(vmmSuccess(), g);
    expect(run("sum_to", 10)).toBe(110n);
    expect(run("signed_mix", -8n, 3)).toBe(BigInt.asUintN(64, -4n));
    expect(run("signed_mix", 100, 7)).toBe(14n + 2n);
  });

  it("guest_ioexit talks to the VMM as upstream: write 0xAB, read back, success", () => {
    const g = new GuestProgram().fn("guest_ioexit", (f) => {
      const out = f.local(0xab);
      let ret = f.call("tdg_vp_vmcall_instruction_io", 0x50, 1, 1, f.addrOf(out));
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      const input = f.local(0);
      ret = f.call("tdg_vp_vmcall_instruction_io", 0x50, 1, 0, f.addrOf(input));
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      f.if(f.ne(f.sub(input, out), 1), () => f.call("tdx_test_fatal", 0xdead));
      f.call("tdx_test_success");
    });
    const { calls, run } = machine((regs) => {
      regs[R.r10] = 0n;
      if (regs[R.r13] === 0n) regs[R.r11] = 0xacn; // the host answers the read with 0xAC
    }, g);
    run("guest_ioexit");
    expect(calls.map((c) => [c[R.r11], c[R.r13], c[R.r14], c[R.r15]])).toEqual([
      [30n, 1n, 0x50n, 0xabn],
      [30n, 0n, 0x50n, 0n],
      [30n, 1n, 0x30n, 0n],
    ]);
  });
});

describe("#VE default handler as executed", () => {
  const FRAME = 0x70_0000n; // a struct ex_regs as guest_ve_entry leaves it
  const FAULT_RIP = 0x50_0000n;

  function veMachine(
    veinfo: { reason: bigint; qual?: bigint; gpa?: bigint; len?: bigint },
    vmm: (regs: Regs) => void,
  ) {
    const env = machine((regs) => {
      if (regs[R.rax] === 3n) {
        regs[R.rax] = 0n;
        [regs[R.rcx], regs[R.rdx], regs[R.r8], regs[R.r9], regs[R.r10]] = [
          veinfo.reason,
          veinfo.qual ?? 0n,
          0n,
          veinfo.gpa ?? 0n,
          veinfo.len ?? 0n,
        ];
      } else {
        vmm(regs);
      }
    });
    env.m.write(FRAME + BigInt(EX_REGS.rip), 8, FAULT_RIP);
    const handle = () => env.run("guest_ve_default_handler", FRAME);
    const reg = (name: keyof typeof EX_REGS) => env.m.read(FRAME + BigInt(EX_REGS[name]), 8);
    const setReg = (name: keyof typeof EX_REGS, v: bigint) =>
      env.m.write(FRAME + BigInt(EX_REGS[name]), 8, v);
    return { ...env, handle, reg, setReg };
  }

  it("OUT DX, AX: Instruction.IO write of the masked AX, RIP += instr_len, the #VE recorded", () => {
    const ve = veMachine({ reason: 30n, qual: (0x50n << 16n) | 1n, len: 1n }, vmmSuccess());
    ve.setReg("rax", 0x1234_5678_9abc_def0n);
    ve.handle();
    const io = ve.calls[1];
    expect([io[R.r11], io[R.r12], io[R.r13], io[R.r14], io[R.r15]]).toEqual([30n, 2n, 1n, 0x50n, 0xdef0n]);
    expect(ve.reg("rip")).toBe(FAULT_RIP + 1n);
    expect(ve.m.read(ve.image.symbol("guest_ve_count"), 8)).toBe(1n);
    expect(ve.m.read(ve.image.symbol("guest_ve_info"), 8)).toBe(30n);
  });

  it("IN AL / IN EAX: the byte merges into RAX, the dword zero-extends", () => {
    const inAl = veMachine({ reason: 30n, qual: (0x52n << 16n) | 8n, len: 2n }, vmmSuccess(0x99n));
    inAl.setReg("rax", 0x1111_2222_3333_4444n);
    inAl.handle();
    expect(inAl.reg("rax")).toBe(0x1111_2222_3333_4499n);
    expect(inAl.calls[1][R.r13]).toBe(0n);
    const inEax = veMachine(
      { reason: 30n, qual: (0x52n << 16n) | 8n | 3n, len: 1n },
      vmmSuccess(0xffab_cdefn),
    );
    inEax.setReg("rax", 0x1111_2222_3333_4444n);
    inEax.handle();
    expect(inEax.reg("rax")).toBe(0xffab_cdefn);
    expect(inEax.reg("rip")).toBe(FAULT_RIP + 1n);
  });

  const SHARED_MMIO = 0x8002_0000_0000n;
  const mmioCases: [string, number[], "load" | "store" | "movzx", keyof typeof EX_REGS, number][] = [
    ["mov eax,[rbx]", [0x8b, 0x03], "load", "rax", 4],
    ["mov rax,[rbx+8]", [0x48, 0x8b, 0x43, 0x08], "load", "rax", 8],
    ["mov r9d,[rsp+0x10]", [0x44, 0x8b, 0x4c, 0x24, 0x10], "load", "r9", 4],
    ["mov dl,[rip+0x1000]", [0x8a, 0x15, 0x00, 0x10, 0x00, 0x00], "load", "rdx", 1],
    ["mov [rbx],ecx", [0x89, 0x0b], "store", "rcx", 4],
    ["mov [rsi+rdi*4+0x100],r12", [0x4c, 0x89, 0xa4, 0xbe, 0x00, 0x01, 0x00, 0x00], "store", "r12", 8],
    ["mov [rbx],ax", [0x66, 0x89, 0x03], "store", "rax", 2],
    ["mov [rbx],sil", [0x40, 0x88, 0x33], "store", "rsi", 1],
    ["movzx eax,BYTE PTR [rcx]", [0x0f, 0xb6, 0x01], "movzx", "rax", 1],
    ["movzx eax,WORD PTR [rcx]", [0x0f, 0xb7, 0x01], "movzx", "rax", 2],
    ["movzx r10,BYTE PTR [rbx+0x4]", [0x4c, 0x0f, 0xb6, 0x53, 0x04], "movzx", "r10", 1],
  ];
  for (const [text, bytes, kind, reg, size] of mmioCases) {
    it(`MMIO ${text}: #VE.RequestMMIO of ${size} bytes, register updated, RIP past the instruction`, () => {
      const ve = veMachine({ reason: 48n, gpa: SHARED_MMIO }, vmmSuccess(0x8877_6655_4433_2211n));
      ve.m.load(FAULT_RIP, new Uint8Array(bytes));
      const before = 0xa1a2_a3a4_a5a6_a7a8n;
      ve.setReg(reg, before);
      ve.handle();
      const call = ve.calls[1];
      expect([call[R.r11], call[R.r12], call[R.r13], call[R.r14]]).toEqual([
        48n,
        BigInt(size),
        kind === "store" ? 1n : 0n,
        SHARED_MMIO,
      ]);
      const valueMask = size === 8 ? (1n << 64n) - 1n : (1n << BigInt(size * 8)) - 1n;
      if (kind === "store") {
        expect(call[R.r15]).toBe(before & valueMask);
        expect(ve.reg(reg)).toBe(before);
      } else {
        const loaded = 0x8877_6655_4433_2211n & valueMask;
        const expected = size >= 4 || kind === "movzx" ? loaded : (before & ~valueMask) | loaded;
        expect(ve.reg(reg)).toBe(expected);
      }
      // the instruction length the decoder (an independent oracle) finds
      const rec = new Int32Array(RECORD_STRIDE);
      decodeInto(new Uint8Array(bytes), 0, bytes.length, 64, rec, 0);
      expect(ve.reg("rip")).toBe(FAULT_RIP + BigInt(rec[R_LEN]));
    });
  }

  it("CPUID #VE: TDVMCALL CPUID with EAX/ECX, the four registers zero-extended, RIP += 2", () => {
    const ve = veMachine({ reason: 10n, len: 2n }, (regs) => {
      regs[R.r10] = 0n;
      [regs[R.r12], regs[R.r13], regs[R.r14], regs[R.r15]] = [0x11n, 0x22n, 0x33n, 0x44n];
    });
    ve.setReg("rax", 0xffff_ffff_4000_0000n);
    ve.setReg("rcx", 0xffff_ffff_0000_0001n);
    ve.setReg("rbx", 0xffff_ffff_ffff_ffffn);
    ve.handle();
    expect([ve.calls[1][R.r11], ve.calls[1][R.r12], ve.calls[1][R.r13]]).toEqual([10n, 0x4000_0000n, 1n]);
    expect([ve.reg("rax"), ve.reg("rbx"), ve.reg("rcx"), ve.reg("rdx")]).toEqual([
      0x11n,
      0x22n,
      0x33n,
      0x44n,
    ]);
    expect(ve.reg("rip")).toBe(FAULT_RIP + 2n);
  });

  it("RDMSR / WRMSR #VE: ECX and EDX:EAX through TDVMCALL RDMSR (31) / WRMSR (32)", () => {
    const rd = veMachine({ reason: 31n, len: 2n }, vmmSuccess(0x1234_5678_9abc_def0n));
    rd.setReg("rcx", 0x1bn);
    rd.handle();
    expect([rd.calls[1][R.r11], rd.calls[1][R.r12]]).toEqual([31n, 0x1bn]);
    expect([rd.reg("rax"), rd.reg("rdx")]).toEqual([0x9abc_def0n, 0x1234_5678n]);
    const wr = veMachine({ reason: 32n, len: 2n }, vmmSuccess());
    wr.setReg("rcx", 0x6e0n);
    wr.setReg("rdx", 0xdead_0000_0000_0012n);
    wr.setReg("rax", 0xbeef_0000_3456_789an);
    wr.handle();
    expect([wr.calls[1][R.r11], wr.calls[1][R.r12], wr.calls[1][R.r13]]).toEqual([
      32n,
      0x6e0n,
      0x12_3456_789an,
    ]);
    expect(wr.reg("rip")).toBe(FAULT_RIP + 2n);
  });

  it("HLT #VE: TDVMCALL HLT with R12 = 1 when RFLAGS.IF was clear; a failing TDVMCALL is reported", () => {
    const hlt = veMachine({ reason: 12n, len: 1n }, vmmSuccess());
    hlt.setReg("rflags", 0x2n);
    hlt.handle();
    expect([hlt.calls[1][R.r11], hlt.calls[1][R.r12]]).toEqual([12n, 1n]);
    expect(hlt.reg("rip")).toBe(FAULT_RIP + 1n);
    const sti = veMachine({ reason: 12n, len: 1n }, vmmSuccess());
    sti.setReg("rflags", 0x202n);
    sti.handle();
    expect(sti.calls[1][R.r12]).toBe(0n);
    const failing = veMachine({ reason: 31n, len: 2n }, (regs) => {
      regs[R.r10] = 0x8000_0000_0000_0000n;
    });
    failing.handle();
    expect([failing.calls[2][R.r11], failing.calls[2][R.r12]]).toEqual([0x10003n, 0x8000_0000_0000_0000n]);
    expect(failing.reg("rip")).toBe(FAULT_RIP);
  });

  it("an instruction it cannot emulate, or another exit reason, is a ReportFatalError naming it", () => {
    const mmio = veMachine({ reason: 48n, gpa: SHARED_MMIO }, vmmSuccess());
    mmio.m.load(FAULT_RIP, new Uint8Array([0x0f, 0xbe, 0x03])); // movsx eax, byte [rbx]
    mmio.handle();
    expect([mmio.calls[1][R.r11], mmio.calls[1][R.r12], mmio.calls[1][R.r13]]).toEqual([
      0x10003n,
      tdxVeUnhandledErrorCode(48) | (1n << 63n),
      FAULT_RIP,
    ]);
    expect(mmio.reg("rip")).toBe(FAULT_RIP);
    const wbinvd = veMachine({ reason: 54n }, vmmSuccess());
    wbinvd.handle();
    expect(wbinvd.calls[1][R.r12]).toBe(tdxVeUnhandledErrorCode(54) | (1n << 63n));
  });

  it("a failing VEINFO.GET is reported with its status", () => {
    const env = machine((regs) => {
      if (regs[R.rax] === 3n)
        regs[R.rax] = 0xc000_0704_0000_0000n; // TDX_NO_VALID_VE_INFO
      else regs[R.r10] = 0n;
    });
    env.m.write(FRAME + BigInt(EX_REGS.rip), 8, FAULT_RIP);
    env.run("guest_ve_default_handler", FRAME);
    expect([env.calls[1][R.r11], env.calls[1][R.r12]]).toEqual([
      0x10003n,
      0xc000_0704_0000_0000n | (1n << 63n),
    ]);
    expect(env.m.read(env.image.symbol("guest_ve_status"), 8)).toBe(0xc000_0704_0000_0000n);
  });
});

describe("#VE entry (IDT vector 20) as executed", () => {
  const FAULT_RIP = 0x50_0000n;

  it("calls an installed guest_ve_hook with struct ex_regs, 16-byte aligned, and restores every GPR", () => {
    const g = new GuestProgram().fn("test_ve_handler", { params: 1 }, (f, regs) => {
      // the test's handler: skip a 1-byte instruction and mark RBX in the frame
      f.store(8, regs, f.add(f.load(8, regs, EX_REGS.rip), 1), EX_REGS.rip);
      f.store(8, regs, 0x5eb, EX_REGS.rbx);
    });
    const { m, image } = machine(vmmSuccess(), g);
    m.write(image.symbol("guest_ve_hook"), 8, image.symbol("test_ve_handler"));
    const before = Object.values(GPR).map((r) => {
      if (r !== GPR.rsp) m.regs[r] = 0x1000n * BigInt(r + 1) + 7n;
      return m.regs[r];
    });
    m.regs[GPR.rsp] = 0x7f_fff8n; // not 16-aligned: the CPU aligns the frame
    const rspBefore = m.regs[GPR.rsp];
    m.deliverException(VE_VECTOR, image.symbol("guest_ve_entry"), FAULT_RIP, () => {
      // stop at the hook's first instruction: SysV says RSP ≡ 8 (mod 16) right after the CALL
      m.runUntilRip(image.symbol("test_ve_handler"));
      expect(m.regs[GPR.rsp] % 16n).toBe(8n);
    });
    expect(m.returnedTo).toBe(FAULT_RIP + 1n);
    const after = Object.values(GPR).map((r) => m.regs[r]);
    const expected = before.map((v, r) => (r === GPR.rbx ? 0x5ebn : r === GPR.rsp ? rspBefore : v));
    expect(after).toEqual(expected);
  });

  it("without a hook, the default handler emulates the OUT and the interrupted code resumes after it", () => {
    const env = machine((regs) => {
      if (regs[R.rax] === 3n) {
        [regs[R.rax], regs[R.rcx], regs[R.rdx], regs[R.r8], regs[R.r9], regs[R.r10]] = [
          0n,
          30n,
          0x500000n,
          0n,
          0n,
          1n,
        ];
      } else {
        regs[R.r10] = 0n;
      }
    });
    env.m.regs[GPR.rax] = 0x1234n;
    env.m.regs[GPR.rsp] = 0x7f_fff0n;
    env.m.deliverException(VE_VECTOR, env.image.symbol("guest_ve_entry"), FAULT_RIP);
    expect(env.m.returnedTo).toBe(FAULT_RIP + 1n);
    expect(env.m.regs[GPR.rax]).toBe(0x1234n);
    expect([env.calls[1][R.r12], env.calls[1][R.r14], env.calls[1][R.r15]]).toEqual([1n, 0x50n, 0x34n]);
  });
});
