import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  type FunctionBuilder,
  GuestProgram,
  GuestProgramError,
  type Local,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDX_IOEXIT_TEST_PORT,
} from "../../src/index.js";
import { gasText, hexBytes } from "./gas.js";
import { routineText } from "./routine-text.js";
import { defineSumTo } from "./sample-programs.js";

function build(define: (g: GuestProgram) => void) {
  const g = new GuestProgram();
  define(g);
  return assembleGuestImage({ origin: 0x40_0000, program: g });
}

describe("guest-program builder: bodies read like the upstream C", () => {
  it("guest_ioexit (tdx_vm_tests.c): IO write, IO read, compare, success", () => {
    const image = build((g) =>
      g.fn("guest_ioexit", (f) => {
        const dataOut = f.local(0xab);
        let ret = f.call(
          "tdg_vp_vmcall_instruction_io",
          TDX_IOEXIT_TEST_PORT,
          1,
          TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
          f.addrOf(dataOut),
        );
        f.if(ret, () => f.call("tdx_test_fatal", ret));
        const dataIn = f.local(0);
        ret = f.call(
          "tdg_vp_vmcall_instruction_io",
          TDX_IOEXIT_TEST_PORT,
          1,
          TDG_VP_VMCALL_INSTRUCTION_IO_READ,
          f.addrOf(dataIn),
        );
        f.if(ret, () => f.call("tdx_test_fatal", ret));
        f.if(f.ne(f.sub(dataIn, dataOut), 1), () => f.call("tdx_test_fatal", ret));
        f.call("tdx_test_success");
      }),
    );
    const lines = routineText(image, "guest_ioexit");
    expect(lines.slice(0, 17)).toEqual([
      "push rbp",
      "mov rbp,rsp",
      "sub rsp,0x60", // twelve 8-byte slots
      "mov rax,0xab",
      "mov QWORD PTR [rbp-0x8],rax", // data_out
      "lea rax,[rbp-0x8]",
      "mov QWORD PTR [rbp-0x10],rax", // &data_out
      "mov rdi,0x50",
      "mov rsi,0x1",
      "mov rdx,0x1",
      "mov rcx,QWORD PTR [rbp-0x10]",
      "call tdg_vp_vmcall_instruction_io",
      "mov QWORD PTR [rbp-0x18],rax", // ret
      "mov rax,QWORD PTR [rbp-0x18]",
      "test rax,rax",
      "je +0x53",
      "mov rdi,QWORD PTR [rbp-0x18]",
    ]);
    expect(lines.slice(-5)).toEqual([
      "call tdx_test_success",
      "mov QWORD PTR [rbp-0x60],rax",
      "xor eax,eax",
      "leave",
      "ret",
    ]);
    expect(lines.filter((l) => l === "call tdx_test_fatal")).toHaveLength(3);
  });

  it("passes 64-bit immediates (guest_code_report_fatal_error: 0x0BAAAAAD00000000)", () => {
    const image = build((g) =>
      g.fn("guest_code_report_fatal_error", (f) => {
        f.call("tdx_test_fatal", 0x0baa_aaad_0000_0000n);
        f.call("tdx_test_success");
      }),
    );
    expect(routineText(image, "guest_code_report_fatal_error").slice(3, 5)).toEqual([
      "movabs rdi,0xbaaaaad00000000",
      "call tdx_test_fatal",
    ]);
  });

  it("calls with six arguments (tdg_vp_vmcall_instruction_cpuid) use RDI, RSI, RDX, RCX, R8, R9", () => {
    const image = build((g) =>
      g.fn("guest_code_cpuid_tdcall", (f) => {
        const [eax, ebx, ecx, edx] = [f.local(0), f.local(0), f.local(0), f.local(0)];
        const ret = f.call(
          "tdg_vp_vmcall_instruction_cpuid",
          1,
          0,
          f.addrOf(eax),
          f.addrOf(ebx),
          f.addrOf(ecx),
          f.addrOf(edx),
        );
        f.call("tdx_assert_error", ret);
      }),
    );
    const lines = routineText(image, "guest_code_cpuid_tdcall");
    const call = lines.indexOf("call tdg_vp_vmcall_instruction_cpuid");
    expect(lines.slice(call - 6, call)).toEqual([
      "mov rdi,0x1",
      "xor rsi,rsi",
      "mov rdx,QWORD PTR [rbp-0x28]",
      "mov rcx,QWORD PTR [rbp-0x30]",
      "mov r8,QWORD PTR [rbp-0x38]",
      "mov r9,QWORD PTR [rbp-0x40]",
    ]);
  });

  it("matches GNU as on the hand-written equivalent: parameters, while, arithmetic, pointers, calls", () => {
    const image = build((g) => {
      defineSumTo(g);
      // void store_sum(u32 *p) { *p = sum_to(10) >> 1; if (*(u16 *)p == 55) p[1] = 1; else p[1] = 2; }
      g.fn("store_sum", { params: 1 }, (f, p) => {
        f.store(4, p, f.shr(f.call("sum_to", 10), 1));
        f.if(
          f.eq(f.load(2, p), 55),
          () => f.store(4, p, 1, 4),
          () => f.store(4, p, 2, 4),
        );
      });
    });
    const start = Number(image.symbol("sum_to") - image.origin);
    const end = Number(image.symbol("guest_ve_info") - image.origin);
    const ours = image.bytes.subarray(start, end);
    const gas = gasText(
      `
sum_to:
  push rbp
  mov rbp, rsp
  sub rsp, 0x40
  mov [rbp-8], rdi
  xor rax, rax
  mov [rbp-0x10], rax
  xor rax, rax
  mov [rbp-0x18], rax
1:
  mov rax, [rbp-0x10]
  mov rcx, [rbp-8]
  cmp rax, rcx
  setb cl
  movzx eax, cl
  mov [rbp-0x20], rax
  mov rax, [rbp-0x20]
  test rax, rax
  jz 2f
  mov rax, [rbp-0x10]
  mov rcx, 1
  add rax, rcx
  mov [rbp-0x28], rax
  mov rax, [rbp-0x28]
  mov [rbp-0x10], rax
  mov rax, [rbp-0x10]
  mov rcx, 2
  imul rax, rcx
  mov [rbp-0x30], rax
  mov rax, [rbp-0x18]
  mov rcx, [rbp-0x30]
  add rax, rcx
  mov [rbp-0x38], rax
  mov rax, [rbp-0x38]
  mov [rbp-0x18], rax
  jmp 1b
2:
  mov rax, [rbp-0x18]
  jmp 3f
  xor eax, eax
3:
  leave
  ret
  .p2align 4, 0xcc
store_sum:
  push rbp
  mov rbp, rsp
  sub rsp, 0x30
  mov [rbp-8], rdi
  mov rdi, 10
  call sum_to
  mov [rbp-0x10], rax
  mov rax, [rbp-0x10]
  mov rcx, 1
  shr rax, cl
  mov [rbp-0x18], rax
  mov rcx, [rbp-8]
  mov rax, [rbp-0x18]
  mov dword ptr [rcx], eax
  mov rcx, [rbp-8]
  movzx eax, word ptr [rcx]
  mov [rbp-0x20], rax
  mov rax, [rbp-0x20]
  mov rcx, 55
  cmp rax, rcx
  sete cl
  movzx eax, cl
  mov [rbp-0x28], rax
  mov rax, [rbp-0x28]
  test rax, rax
  jz 4f
  mov rcx, [rbp-8]
  mov rax, 1
  mov dword ptr [rcx+4], eax
  jmp 5f
4:
  mov rcx, [rbp-8]
  mov rax, 2
  mov dword ptr [rcx+4], eax
5:
  xor eax, eax
  leave
  ret
`,
      64,
    );
    expect(hexBytes(ours.subarray(0, gas.length))).toBe(hexBytes(gas));
  });

  it("matches GNU as on division, shifts, signed compares, arrays and 1/8-byte loads", () => {
    const image = build((g) =>
      // u64 mix(u64 a, u64 b) { u8 buf[24]; buf[0] = a / b; *(u64 *)&buf[8] = a % b;
      //   if ((i64)a < (i64)b) return (a << 3) >> b; return (i64)a >> 2 + buf[0]; }
      g.fn("mix", { params: 2 }, (f, a, b) => {
        const buf = f.array(24);
        f.store(1, buf.address, f.udiv(a, b));
        f.store(8, buf.address, f.urem(a, b), 8);
        f.if(f.slt(a, b), () => f.ret(f.shr(f.shl(a, 3), b)));
        f.ret(f.sar(a, f.add(2, f.load(1, buf.address))));
      }),
    );
    const start = Number(image.symbol("mix") - image.origin);
    const ours = image.bytes.subarray(start);
    const gas = gasText(
      `
mix:
  push rbp
  mov rbp, rsp
  sub rsp, 0x80
  mov [rbp-8], rdi
  mov [rbp-0x10], rsi
  lea rax, [rbp-0x30]
  mov [rbp-0x38], rax
  mov rax, [rbp-8]
  mov rcx, [rbp-0x10]
  xor edx, edx
  div rcx
  mov [rbp-0x40], rax
  mov rcx, [rbp-0x38]
  mov rax, [rbp-0x40]
  mov byte ptr [rcx], al
  mov rax, [rbp-8]
  mov rcx, [rbp-0x10]
  xor edx, edx
  div rcx
  mov rax, rdx
  mov [rbp-0x48], rax
  mov rcx, [rbp-0x38]
  mov rax, [rbp-0x48]
  mov qword ptr [rcx+8], rax
  mov rax, [rbp-8]
  mov rcx, [rbp-0x10]
  cmp rax, rcx
  setl cl
  movzx eax, cl
  mov [rbp-0x50], rax
  mov rax, [rbp-0x50]
  test rax, rax
  jz 1f
  mov rax, [rbp-8]
  mov rcx, 3
  shl rax, cl
  mov [rbp-0x58], rax
  mov rax, [rbp-0x58]
  mov rcx, [rbp-0x10]
  shr rax, cl
  mov [rbp-0x60], rax
  mov rax, [rbp-0x60]
  jmp 2f
1:
  mov rcx, [rbp-0x38]
  movzx eax, byte ptr [rcx]
  mov [rbp-0x68], rax
  mov rax, 2
  mov rcx, [rbp-0x68]
  add rax, rcx
  mov [rbp-0x70], rax
  mov rax, [rbp-8]
  mov rcx, [rbp-0x70]
  sar rax, cl
  mov [rbp-0x78], rax
  mov rax, [rbp-0x78]
  jmp 2f
  xor eax, eax
2:
  leave
  ret
`,
      64,
    );
    expect(hexBytes(ours.subarray(0, gas.length))).toBe(hexBytes(gas));
  });

  it("native CPUID, RDMSR/WRMSR, IN/OUT and HLT (guest_code_cpuid and #VE-taking bodies) match GNU as", () => {
    const image = build((g) =>
      g.fn("guest_code_cpuid", (f) => {
        const { ebx, ecx } = f.cpuid(1);
        f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", ebx));
        f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", ecx));
        f.wrmsr(0x1a0, f.rdmsr(0x1a0));
        f.outw(f.inb(0x52), 0x51);
        f.hlt();
      }),
    );
    const lines = routineText(image, "guest_code_cpuid");
    const gas = gasText(
      `
  push rbp
  mov rbp, rsp
  sub rsp, 0x50
  mov rax, 1
  xor rcx, rcx
  push rbx
  cpuid
  mov [rbp-8], rax
  mov [rbp-0x10], rbx
  mov [rbp-0x18], rcx
  mov [rbp-0x20], rdx
  pop rbx
`,
      64,
    );
    const start = Number(image.symbol("guest_code_cpuid") - image.origin);
    expect(hexBytes(image.bytes.subarray(start, start + gas.length))).toBe(hexBytes(gas));
    const tail = lines.slice(lines.indexOf("mov rcx,0x1a0"));
    expect(tail).toEqual([
      "mov rcx,0x1a0",
      "rdmsr",
      "shl rdx,0x20",
      "or rax,rdx",
      "mov QWORD PTR [rbp-0x48],rax",
      "mov rcx,0x1a0",
      "mov rax,QWORD PTR [rbp-0x48]",
      "mov rdx,rax",
      "shr rdx,0x20",
      "wrmsr",
      "mov rdx,0x52",
      "xor eax,eax",
      "in al,dx",
      "mov QWORD PTR [rbp-0x50],rax",
      "mov rax,QWORD PTR [rbp-0x50]",
      "mov rdx,0x51",
      "out dx,ax",
      "hlt",
      "xor eax,eax",
      "leave",
      "ret",
    ]);
  });

  it("takes the address of library globals and program functions with f.symbol", () => {
    const image = build((g) => {
      g.fn("my_ve_handler", { params: 1 }, (f) => f.ret(1));
      g.fn("install", (f) => {
        f.store(8, f.symbol("guest_ve_hook"), f.symbol("my_ve_handler"));
      });
    });
    const lines = routineText(image, "install");
    const hook = image.symbol("guest_ve_hook");
    const handler = image.symbol("my_ve_handler");
    const leaTargets = lines
      .filter((l) => l.startsWith("lea rax,[rip"))
      .map((l) => {
        const [, sign, disp] = l.match(/rip([+-])(0x[0-9a-f]+)/) ?? [];
        return (sign === "-" ? -1n : 1n) * BigInt(disp);
      });
    expect(leaTargets).toHaveLength(2);
    // lea is 7 bytes; the targets are relative to the next instruction. objdump's syntax (which the
    // disassembler follows) prints a negative displacement as rip+0xffff…, so the sum wraps at 2^64.
    const starts = lines.length > 0 ? findLeaAddresses(image, "install") : [];
    expect(starts.map((s, i) => BigInt.asUintN(64, s + 7n + leaTargets[i]))).toEqual([hook, handler]);
  });
});

function findLeaAddresses(image: ReturnType<typeof build>, name: string): bigint[] {
  const start = Number(image.symbol(name) - image.origin);
  const out: bigint[] = [];
  for (let i = start; i < image.bytes.length - 3; i++) {
    if (image.bytes[i] === 0x48 && image.bytes[i + 1] === 0x8d && image.bytes[i + 2] === 0x05) {
      out.push(image.origin + BigInt(i));
      i += 6;
    }
    if (out.length === 2) break;
  }
  return out;
}

describe("guest-program builder: misuse is a clear error", () => {
  const g = () => new GuestProgram();
  const error = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(GuestProgramError);
      return (e as Error).message;
    }
    throw new Error("no error");
  };

  it("unknown routine", () => {
    expect(error(() => g().fn("t", (f) => f.call("tdx_test_sucess")))).toBe(
      't: call: unknown routine "tdx_test_sucess"',
    );
  });

  it("wrong argument count", () => {
    expect(error(() => g().fn("t", (f) => f.call("tdx_test_fatal")))).toBe(
      "t: call tdx_test_fatal: 0 arguments given, it takes 1",
    );
    expect(
      error(() => g().fn("t", (f) => f.call("tdg_vp_vmcall_instruction_io", 1, 2, 3, 4, 5, 6, 7))),
    ).toMatch(/7 arguments, at most 6/);
  });

  it("a value used after its block ended", () => {
    expect(
      error(() =>
        g().fn("t", (f) => {
          let inner = f.local(0);
          f.if(1, () => {
            inner = f.add(1, 2) as Local;
          });
          f.call("tdx_test_fatal", inner);
        }),
      ),
    ).toBe(
      "t: call tdx_test_fatal argument 1: the result of add is used out of scope (it was made in an if branch, which has ended)",
    );
  });

  it("a value of another function, or a builder used after its body", () => {
    const program = g();
    let leaked: Local | undefined;
    let saved: FunctionBuilder | undefined;
    program.fn("a", (f) => {
      leaked = f.local(1);
      saved = f;
    });
    expect(error(() => program.fn("b", (f) => f.call("tdx_test_fatal", leaked as Local)))).toBe(
      "b: call tdx_test_fatal argument 1: local belongs to function a",
    );
    expect(error(() => saved?.call("tdx_test_success"))).toMatch(/^a: the function body has ended/);
  });

  it("a routine without a result used as a value", () => {
    expect(error(() => g().fn("t", (f) => f.call("tdx_test_fatal", f.call("tdx_test_success"))))).toBe(
      "t: call tdx_test_fatal argument 1: the result of tdx_test_success() returns no value",
    );
  });

  it("nested definitions, duplicates, library names, bad identifiers", () => {
    const program = g();
    expect(error(() => program.fn("outer", () => program.fn("inner", () => {})))).toMatch(
      /^inner: defined inside the body of outer/,
    );
    program.fn("once", () => {});
    expect(error(() => program.fn("once", () => {}))).toBe("once: is defined twice");
    expect(error(() => program.fn("tdx_test_success", () => {}))).toBe(
      "tdx_test_success: is already a guest-library symbol",
    );
    expect(error(() => program.fn("bad name", () => {}))).toBe("bad name: is not a C identifier");
    expect(error(() => program.fn("many", { params: 7 }, () => {}))).toMatch(/7 parameters/);
  });

  it("bad sizes, non-integers and out-of-range immediates", () => {
    expect(error(() => g().fn("t", (f) => f.load(3 as 4, 0x1000)))).toBe(
      "t: load: size 3 is not 1, 2, 4 or 8 bytes",
    );
    expect(error(() => g().fn("t", (f) => f.add(1.5, 1)))).toMatch(/1.5 is not an integer/);
    expect(error(() => g().fn("t", (f) => f.add(1n << 64n, 1)))).toMatch(/does not fit in 64 bits/);
    expect(error(() => g().fn("t", (f) => f.set(f.add(1, 2) as Local, 3)))).toMatch(
      /is not a local variable/,
    );
  });

  it("forward calls need a declaration, and a declared function must be defined", () => {
    expect(error(() => g().fn("t", (f) => f.call("later")))).toBe('t: call: unknown routine "later"');
    const program = g().declare("later", { params: 1 });
    program.fn("t", (f) => f.call("later", 5));
    expect(() => assembleGuestImage({ origin: 0x40_0000, program })).toThrow(
      "later: is declared and called but never defined",
    );
    program.fn("later", { params: 1 }, (f, x) => f.ret(x));
    expect(assembleGuestImage({ origin: 0x40_0000, program }).symbols.has("later")).toBe(true);
  });
});
