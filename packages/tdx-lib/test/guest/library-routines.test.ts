import { disassemble } from "@tdxsim/x86";
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  GUEST_LIBRARY_ROUTINES,
  TDX_HYPERCALL_ARGS,
  TDX_MODULE_OUTPUT,
} from "../../src/index.js";
import { readHypercallSetup } from "./hypercall-setup.js";
import { routineText } from "./routine-text.js";

const image = assembleGuestImage({ origin: 0x40_0000 });
const text = (name: string) => routineText(image, name);

describe("__tdx_hypercall (tdcall.S)", () => {
  it("saves R12–R15, loads R10–R15 from args, exposes them (RCX = 0xFC00), TDCALL leaf 0", () => {
    const loads = Object.entries(TDX_HYPERCALL_ARGS)
      .filter(([reg]) => reg !== "size")
      .map(([reg, offset]) => `mov ${reg},QWORD PTR [rdi${offset ? `+0x${offset.toString(16)}` : ""}]`);
    const stores = loads.map((l) => l.replace(/^mov (\w+),(QWORD PTR \[[^\]]+\])$/, "mov $2,$1"));
    expect(text("__tdx_hypercall")).toEqual([
      "push rbp",
      "mov rbp,rsp",
      "push r15",
      "push r14",
      "push r13",
      "push r12",
      "mov eax,0x0",
      ...loads,
      "mov ecx,0xfc00",
      "tdcall",
      "mov rax,r10",
      "test rsi,0x1",
      `je +0x${(0x54).toString(16)}`,
      ...stores,
      "pop r12",
      "pop r13",
      "pop r14",
      "pop r15",
      "pop rbp",
      "ret",
    ]);
  });
});

describe("TDG.VP.VMCALL wrappers (tdx.c): R10 = 0 (standard), R11 = sub-function", () => {
  // The register assignments of the series and the GHCI, written out independently.
  const cases: [string, Record<string, string>, string, Record<string, string>][] = [
    [
      "tdg_vp_vmcall_get_td_vmcall_info",
      { r10: "0x0", r11: "0x10000", r12: "0x0", r13: "0x0", r14: "0x0", r15: "0x0" },
      "0x1",
      { r11: "*arg0", r12: "*arg1", r13: "*arg2", r14: "*arg3" },
    ],
    [
      "tdg_vp_vmcall_instruction_rdmsr",
      { r10: "0x0", r11: "0x1f", r12: "arg0", r13: "0x0", r14: "0x0", r15: "0x0" },
      "0x1",
      { r11: "*arg1" },
    ],
    [
      "tdg_vp_vmcall_instruction_wrmsr",
      { r10: "0x0", r11: "0x20", r12: "arg0", r13: "arg1", r14: "0x0", r15: "0x0" },
      "0x0",
      {},
    ],
    [
      "tdg_vp_vmcall_instruction_hlt",
      { r10: "0x0", r11: "0xc", r12: "arg0", r13: "0x0", r14: "0x0", r15: "0x0" },
      "0x0",
      {},
    ],
    [
      "tdg_vp_vmcall_ve_request_mmio_read",
      { r10: "0x0", r11: "0x30", r12: "arg1", r13: "0x0", r14: "arg0", r15: "0x0" },
      "0x1",
      { r11: "*arg2" },
    ],
    [
      "tdg_vp_vmcall_ve_request_mmio_write",
      { r10: "0x0", r11: "0x30", r12: "arg1", r13: "0x1", r14: "arg0", r15: "arg2" },
      "0x0",
      {},
    ],
    [
      "tdg_vp_vmcall_instruction_cpuid",
      { r10: "0x0", r11: "0xa", r12: "u32(arg0)", r13: "u32(arg1)", r14: "0x0", r15: "0x0" },
      "0x1",
      { r12: "*(u32 *)arg2", r13: "*(u32 *)arg3", r14: "*(u32 *)arg4", r15: "*(u32 *)arg5" },
    ],
    [
      "tdg_vp_vmcall_map_gpa",
      { r10: "0x0", r11: "0x10001", r12: "arg0", r13: "arg1", r14: "0x0", r15: "0x0" },
      "0x1",
      { r11: "*arg2" },
    ],
  ];
  for (const [name, registers, flags, outputs] of cases) {
    it(`${name}: registers, HAS_OUTPUT flag and the outputs it stores`, () => {
      const setup = readHypercallSetup(text(name));
      expect(setup.registers).toEqual(registers);
      expect(setup.flags).toBe(flags);
      expect(setup.outputs).toEqual(outputs);
    });
  }

  it("the set-up reader notices a wrong register and refuses code it does not understand", () => {
    const lines = text("tdg_vp_vmcall_ve_request_mmio_write");
    const swapped = lines.map((l) => l.replace("[rbp-0x40]", "[rbp-0x48]")); // size slot → data slot
    expect(readHypercallSetup(swapped).registers.r12).toBe("arg2");
    const call = lines.indexOf("call __tdx_hypercall");
    expect(() => readHypercallSetup([...lines.slice(0, call), "xchg rax,rcx", ...lines.slice(call)])).toThrow(
      'unexpected set-up instruction "xchg rax,rcx"',
    );
  });

  it("tdg_vp_vmcall_instruction_io: R12 size, R13 direction, R14 port, R15 *data on a write; a read stores R11", () => {
    expect(text("tdg_vp_vmcall_instruction_io").slice(3)).toEqual([
      "mov QWORD PTR [rbp-0x38],rdi",
      "mov QWORD PTR [rbp-0x40],rsi",
      "mov QWORD PTR [rbp-0x48],rdx",
      "mov QWORD PTR [rbp-0x50],rcx",
      "mov QWORD PTR [rbp-0x30],0x0", // r10
      "mov QWORD PTR [rbp-0x28],0x1e", // r11 = Instruction.IO (30)
      "mov QWORD PTR [rbp-0x20],0x0",
      "mov QWORD PTR [rbp-0x18],0x0",
      "mov QWORD PTR [rbp-0x10],0x0",
      "mov QWORD PTR [rbp-0x8],0x0",
      "mov QWORD PTR [rbp-0x20],rsi", // r12 = size
      "mov QWORD PTR [rbp-0x18],rdx", // r13 = write
      "mov QWORD PTR [rbp-0x10],rdi", // r14 = port
      "mov esi,0x1", // a read wants R11 back
      "test rdx,rdx",
      "je +0x67",
      "mov rax,QWORD PTR [rcx]",
      "mov QWORD PTR [rbp-0x8],rax", // r15 = *data
      "xor esi,esi",
      "lea rdi,[rbp-0x30]",
      "call __tdx_hypercall",
      "cmp QWORD PTR [rbp-0x48],0x0",
      "jne +0x82",
      "mov rcx,QWORD PTR [rbp-0x50]",
      "mov rdx,QWORD PTR [rbp-0x28]",
      "mov QWORD PTR [rcx],rdx", // *data = r11
      "leave",
      "ret",
    ]);
  });

  it("tdg_vp_vmcall_report_fatal_error: R11 0x10003, R12 code (bit 63 set with a data GPA), R13 data", () => {
    expect(text("tdg_vp_vmcall_report_fatal_error").slice(11)).toEqual([
      "test rsi,rsi",
      "je +0x4a",
      "bts rdi,0x3f",
      "mov QWORD PTR [rbp-0x20],rdi",
      "mov QWORD PTR [rbp-0x18],rsi",
      "lea rdi,[rbp-0x30]",
      "mov esi,0x0",
      "call __tdx_hypercall",
      "leave",
      "ret",
    ]);
    expect(text("tdg_vp_vmcall_report_fatal_error")[6]).toBe("mov QWORD PTR [rbp-0x28],0x10003");
  });
});

describe("__tdx_module_call and the TDCALL leaves", () => {
  it("moves (fn, rcx, rdx, r8, r9, out) into RAX/RCX/RDX/R8/R9 and stores the outputs when out != NULL", () => {
    const stores = Object.entries(TDX_MODULE_OUTPUT)
      .filter(([reg]) => reg !== "size")
      .map(([reg, offset]) => `mov QWORD PTR [r12${offset ? `+0x${offset.toString(16)}` : ""}],${reg}`);
    expect(text("__tdx_module_call")).toEqual([
      "push rbp",
      "mov rbp,rsp",
      "push r12",
      "mov r12,r9",
      "mov rax,rdi",
      "mov r9,r8",
      "mov r8,rcx",
      "mov rcx,rsi",
      "tdcall",
      "test r12,r12",
      "je +0x3b",
      ...stores,
      "pop r12",
      "pop rbp",
      "ret",
    ]);
  });

  it("tdg_mem_page_accept: leaf 6, RCX = gpa | level, no output", () => {
    expect(text("tdg_mem_page_accept")).toEqual([
      "movzx esi,sil",
      "or rsi,rdi",
      "xor edx,edx",
      "xor ecx,ecx",
      "xor r8d,r8d",
      "xor r9d,r9d",
      "mov edi,0x6",
      "jmp __tdx_module_call",
    ]);
  });

  it("tdg_mr_report: leaf 4, RCX report GPA, RDX REPORTDATA GPA, R8 subtype", () => {
    expect(text("tdg_mr_report")).toEqual([
      "mov rcx,rdx",
      "mov rdx,rsi",
      "mov rsi,rdi",
      "xor r8d,r8d",
      "xor r9d,r9d",
      "mov edi,0x4",
      "jmp __tdx_module_call",
    ]);
  });

  it("tdg_mr_rtmr_extend: leaf 2, RCX data GPA, RDX RTMR index", () => {
    expect(text("tdg_mr_rtmr_extend")).toEqual([
      "mov rdx,rsi",
      "mov rsi,rdi",
      "xor ecx,ecx",
      "xor r8d,r8d",
      "xor r9d,r9d",
      "mov edi,0x2",
      "jmp __tdx_module_call",
    ]);
  });

  for (const [name, leaf] of [
    ["tdg_vp_info", "0x1"],
    ["tdg_vp_veinfo_get", "0x3"],
  ] as const) {
    it(`${name}: leaf ${leaf} with RCX = RDX = R8 = 0 and a zeroed tdx_module_output in R9`, () => {
      const lines = text(name);
      const call = lines.indexOf("call __tdx_module_call");
      expect(lines.slice(call - 6, call + 1)).toEqual([
        `mov edi,${leaf}`,
        "xor esi,esi",
        "xor edx,edx",
        "xor ecx,ecx",
        "xor r8d,r8d",
        "lea r9,[rbp-0x30]",
        "call __tdx_module_call",
      ]);
      const zeroed = lines.filter((l) => /^mov QWORD PTR \[rbp-0x(30|28|20|18|10|8)\],0x0$/.test(l));
      expect(zeroed).toHaveLength(6);
    });
  }

  it("tdg_vp_veinfo_get fills ve_info: RCX, RDX, R8, R9, then R10 (instr_len | instr_info << 32)", () => {
    const lines = text("tdg_vp_veinfo_get");
    const call = lines.indexOf("call __tdx_module_call");
    expect(lines.slice(call + 1)).toEqual([
      "mov rcx,QWORD PTR [rbp-0x38]",
      "mov rdx,QWORD PTR [rbp-0x30]",
      "mov QWORD PTR [rcx],rdx",
      "mov rdx,QWORD PTR [rbp-0x28]",
      "mov QWORD PTR [rcx+0x8],rdx",
      "mov rdx,QWORD PTR [rbp-0x20]",
      "mov QWORD PTR [rcx+0x10],rdx",
      "mov rdx,QWORD PTR [rbp-0x18]",
      "mov QWORD PTR [rcx+0x18],rdx",
      "mov rdx,QWORD PTR [rbp-0x10]",
      "mov QWORD PTR [rcx+0x20],rdx",
      "leave",
      "ret",
    ]);
  });
});

describe("guest test_util", () => {
  it("tdx_test_success: Instruction.IO write of 0, 4 bytes, port 0x30", () => {
    expect(text("tdx_test_success")).toEqual([
      "push rbp",
      "mov rbp,rsp",
      "sub rsp,0x10",
      "mov QWORD PTR [rbp-0x8],0x0",
      "mov edi,0x30",
      "mov esi,0x4",
      "mov edx,0x1",
      "lea rcx,[rbp-0x8]",
      "call tdg_vp_vmcall_instruction_io",
      "leave",
      "ret",
    ]);
  });

  it("tdx_test_report_to_user_space: the u32 zero-extended, 4 bytes to port 0x31", () => {
    expect(text("tdx_test_report_to_user_space").slice(3, 10)).toEqual([
      "mov eax,edi",
      "mov QWORD PTR [rbp-0x8],rax",
      "mov edi,0x31",
      "mov esi,0x4",
      "mov edx,0x1",
      "lea rcx,[rbp-0x8]",
      "call tdg_vp_vmcall_instruction_io",
    ]);
  });

  it("tdx_test_send_64bit: low half, stop on error, then high half, same port", () => {
    expect(text("tdx_test_send_64bit")).toEqual([
      "push rbp",
      "mov rbp,rsp",
      "sub rsp,0x20",
      "mov QWORD PTR [rbp-0x10],rdi",
      "mov QWORD PTR [rbp-0x18],rsi",
      "mov eax,esi",
      "mov QWORD PTR [rbp-0x8],rax",
      "mov esi,0x4",
      "mov edx,0x1",
      "lea rcx,[rbp-0x8]",
      "call tdg_vp_vmcall_instruction_io",
      "test rax,rax",
      "jne +0x51",
      "mov rax,QWORD PTR [rbp-0x18]",
      "shr rax,0x20",
      "mov QWORD PTR [rbp-0x8],rax",
      "mov rdi,QWORD PTR [rbp-0x10]",
      "mov esi,0x4",
      "mov edx,0x1",
      "lea rcx,[rbp-0x8]",
      "call tdg_vp_vmcall_instruction_io",
      "leave",
      "ret",
    ]);
  });

  it("fatal helpers chain down to ReportFatalError with data 0", () => {
    expect(text("tdx_test_report_64bit_to_user_space")).toEqual([
      "mov rsi,rdi",
      "mov edi,0x31",
      "jmp tdx_test_send_64bit",
    ]);
    expect(text("tdx_test_fatal")).toEqual(["xor esi,esi", "jmp tdx_test_fatal_with_data"]);
    expect(text("tdx_test_fatal_with_data")).toEqual(["jmp tdg_vp_vmcall_report_fatal_error"]);
    expect(text("tdx_assert_error")).toEqual(["test rdi,rdi", "je +0x7", "jmp tdx_test_fatal", "ret"]);
  });
});

describe("#VE handler", () => {
  it("guest_ve_entry saves an ex_regs frame, calls the installed hook or the default handler, IRETQ", () => {
    const lines = text("guest_ve_entry");
    const saved = [
      "r15",
      "r14",
      "r13",
      "r12",
      "r11",
      "r10",
      "r9",
      "r8",
      "rdi",
      "rsi",
      "rbp",
      "rbx",
      "rdx",
      "rcx",
      "rax",
    ];
    expect(lines.slice(0, 2)).toEqual(["push 0x0", "push 0x14"]);
    expect(lines.slice(2, 17)).toEqual(saved.map((r) => `push ${r}`));
    expect(lines).toContain("call rax");
    expect(lines).toContain("call guest_ve_default_handler");
    expect(lines.slice(-18)).toEqual([
      "mov rsp,rbx",
      ...[...saved].reverse().map((r) => `pop ${r}`),
      "add rsp,0x10",
      "iretq",
    ]);
    // the hook is read from the guest_ve_hook global (RIP-relative)
    const hookLoad = lines.find((l) => l.startsWith("mov rax,QWORD PTR [rip+"));
    expect(hookLoad).toBeDefined();
  });

  it("the default handler reads VE info into guest_ve_info, counts, emulates IN/OUT and skips by instr_len", () => {
    const lines = text("guest_ve_default_handler");
    expect(lines).toContain("call tdg_vp_veinfo_get");
    expect(lines.some((l) => /^cmp QWORD PTR \[rip\+0x[0-9a-f]+\],0x1e$/.test(l))).toBe(true); // exit reason IO
    expect(lines).toContain("test ecx,0x30"); // string / REP IO is not emulated
    expect(lines).toContain("call tdg_vp_vmcall_instruction_io");
    expect(lines).toContain("add QWORD PTR [rbx+0x88],rax"); // ex_regs.rip += instr_len
    expect(lines.filter((l) => l === "call tdx_test_fatal_with_data")).toHaveLength(2);
  });

  it("EPT-violation #VEs go to guest_ve_emulate_mmio, which issues #VE.RequestMMIO on ve_info.gpa", () => {
    const handler = text("guest_ve_default_handler");
    const check = handler.findIndex((l) => /^cmp QWORD PTR \[rip\+0x[0-9a-f]+\],0x30$/.test(l));
    expect(handler.slice(check + 2, check + 7)).toEqual([
      "mov rdi,rbx",
      "call guest_ve_emulate_mmio",
      "test rax,rax",
      expect.stringMatching(/^je \+0x/),
      "cmp rax,0xffffffffffffffff", // MMIO_NOT_EMULATED → reported as an unhandled #VE
    ]);
    const mmio = text("guest_ve_emulate_mmio");
    expect(mmio).toContain("call tdg_vp_vmcall_ve_request_mmio_read");
    expect(mmio).toContain("call tdg_vp_vmcall_ve_request_mmio_write");
    expect(mmio).toContain("mov QWORD PTR [rbx+0x88],r12"); // RIP past the decoded MOV
    expect(mmio).toContain("cmp ecx,0x88"); // opcodes 88–8B only
    // RDI = the qword at guest_ve_info + 24 (ve_info.gpa)
    const gpaLoad = routineAddressOf(mmio, /^mov rdi,QWORD PTR \[rip\+(0x[0-9a-f]+)\]$/);
    expect(gpaLoad).toBe(image.symbol("guest_ve_info") + 24n);
  });

  it("guest_ve_info and friends are in the symbol table, the IDT gate points at guest_ve_entry", () => {
    for (const name of ["guest_ve_info", "guest_ve_status", "guest_ve_count", "guest_ve_hook"]) {
      expect(image.symbols.has(name)).toBe(true);
    }
    expect(image.idtEntries).toEqual([{ vector: 20, handler: image.symbol("guest_ve_entry") }]);
  });
});

/** Resolves the RIP-relative operand of the first line matching `pattern` in guest_ve_emulate_mmio. */
function routineAddressOf(lines: readonly string[], pattern: RegExp): bigint {
  const start = image.symbol("guest_ve_emulate_mmio");
  const decoded = disassemble(image.bytes.subarray(Number(start - image.origin)), {
    address: start,
    limit: lines.length + 20,
  });
  const normalise = (text: string) => text.replace(/\s+/g, " ").replace(/\s*#.*$/, "");
  const line = decoded.find((l) => pattern.test(normalise(l.text)));
  const disp = line && normalise(line.text).match(pattern)?.[1];
  if (!line || !disp) throw new Error(`no line matches ${pattern}`);
  return line.address + BigInt(line.bytes.length) + BigInt(disp);
}

describe("guest library image", () => {
  it("exports every routine under its upstream name, 16-byte aligned", () => {
    for (const routine of GUEST_LIBRARY_ROUTINES) {
      expect(image.symbol(routine.name) % 16n).toBe(0n);
    }
    expect(() => image.symbol("tdx_nonexistent")).toThrow(/no symbol "tdx_nonexistent"/);
  });

  it("is position-independent: the same bytes at any origin", () => {
    const other = assembleGuestImage({ origin: 0x1234_5000 });
    expect(other.bytes).toEqual(image.bytes);
    expect(other.symbol("tdx_test_success") - other.origin).toBe(
      image.symbol("tdx_test_success") - image.origin,
    );
  });

  it("rejects an origin that is not a page-aligned address below 4 GiB", () => {
    expect(() => assembleGuestImage({ origin: 0x400010 })).toThrow(/page-aligned/);
    expect(() => assembleGuestImage({ origin: 2 ** 32 })).toThrow(/below 4 GiB/);
  });
});
