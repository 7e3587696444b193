import { PageTableBuilder, sparsePteMemory } from "@tdxsim/memory";
import { disassemble } from "@tdxsim/x86";
import { describe, expect, it } from "vitest";
import {
  assembleTdBoot,
  buildGdtPage,
  CR0,
  encodeTdBootParameters,
  FOUR_GIGABYTES_GPA,
  GDT_LIMIT,
  IDT_LIMIT,
  placeTdBootCode,
  RESET_VECTOR_GPA,
  TD_BOOT_CR0,
  TD_BOOT_CR4,
  TD_BOOT_PARAMETERS_GPA,
  TD_LONG_MODE_EFER,
} from "../../src/index.js";
import { gasText, hexBytes } from "./gas.js";
import { GPR, GuestCpu } from "./guest-cpu.js";

const boot = assembleTdBoot();
const lines = disassemble(boot.bytes, { mode: 32, address: boot.gpa });
const texts = lines.map((l) => l.text.replace(/\s+/g, " "));

describe("td_boot", () => {
  it("follows td_boot.S's steps in 32-bit code, with the layout's offsets", () => {
    const steps = texts.slice(0, texts.indexOf("jmp FWORD PTR [eax+0x4]") + 1);
    expect(steps).toEqual([
      "cli",
      "mov ebx,0xffff0000", // TD_BOOT_PARAMETERS_GPA
      "mov eax,esi", // vCPU index from the TDX module
      "imul eax,eax,0xa", // × sizeof(td_per_vcpu_parameters)
      "lea edi,[ebx+0x18]", // &per_vcpu[0]
      "add eax,edi",
      "mov esp,DWORD PTR [eax]", // esp_gva
      "lgdtd [ebx+0xc]",
      "lidtd [ebx+0x12]",
      "mov edi,DWORD PTR [ebx+0x8]",
      "mov cr4,edi",
      "mov edi,DWORD PTR [ebx+0x4]",
      "mov cr3,edi",
      "mov edi,DWORD PTR [ebx]",
      "mov cr0,edi", // paging on: IA-32e (EFER.LME is set by the TDX module)
      "mov ecx,0x10",
      "mov ds,ecx",
      "mov es,ecx",
      "mov ss,ecx",
      "jmp FWORD PTR [eax+0x4]", // ljmp through ljmp_target: (eip_gva, code64_sel)
    ]);
  });

  it("never writes EFER (a TD vCPU starts with LME set and cannot change it)", () => {
    expect(texts.some((t) => t.startsWith("wrmsr"))).toBe(false);
  });

  it("ends with a 16-byte reset vector at 0xFFFFFFF0: JMP rel8 to td_boot and INT3 padding", () => {
    expect(boot.gpa + boot.bytes.length).toBe(FOUR_GIGABYTES_GPA);
    expect(boot.gpa + boot.resetVectorOffset).toBe(RESET_VECTOR_GPA);
    const vector = boot.bytes.subarray(boot.resetVectorOffset);
    const rel8 = -(boot.resetVectorOffset + 2);
    expect(Array.from(vector)).toEqual([0xeb, rel8 & 0xff, ...new Array(14).fill(0xcc)]);
    const jump = lines.find((l) => l.address === BigInt(RESET_VECTOR_GPA));
    expect(jump?.text.replace(/\s+/g, " ")).toBe(`jmp ${boot.gpa.toString(16)}`);
    expect(boot.symbols.get("td_boot")).toBe(BigInt(boot.gpa));
    expect(boot.symbols.get("td_boot_code_end")).toBe(BigInt(FOUR_GIGABYTES_GPA));
  });

  it("is accepted by placeTdBootCode: the slot ends at 4 GiB with the JMP at the reset vector", () => {
    const placed = placeTdBootCode(boot.bytes, boot.resetVectorOffset);
    expect(placed.codeGpa).toBe(boot.gpa);
    const at = RESET_VECTOR_GPA - placed.slotGpa;
    expect(placed.bytes[at]).toBe(0xeb);
    expect(placed.bytes.length % 4096).toBe(0);
  });

  it("is byte-identical to the spec's step list assembled by GNU as", () => {
    const source = `
td_boot:
  cli
  mov ebx, 0xffff0000
  mov eax, esi
  imul eax, eax, 10
  lea edi, [ebx + 24]
  add eax, edi
  mov esp, [eax + 0]
  lgdt [ebx + 12]
  lidt [ebx + 18]
  mov edi, [ebx + 8]
  mov cr4, edi
  mov edi, [ebx + 4]
  mov cr3, edi
  mov edi, [ebx + 0]
  mov cr0, edi
  mov ecx, 0x10
  mov ds, cx
  mov es, cx
  mov ss, cx
  jmp fword ptr [eax + 4]
reset_vector:
  jmp td_boot
  .fill 14, 1, 0xcc
`;
    expect(hexBytes(boot.bytes)).toBe(hexBytes(gasText(source, 32)));
  });

  it("executed from the reset vector with ESI = 1: loads vCPU 1's record and far-jumps to its entry", () => {
    // The block the host half writes, from the host-side encoder: td_boot must agree with it.
    const block = encodeTdBootParameters(
      {
        cr0: TD_BOOT_CR0,
        cr3: 0x18_0000,
        cr4: TD_BOOT_CR4,
        gdtr: { limit: GDT_LIMIT, base: 0x1000 },
        idtr: { limit: IDT_LIMIT, base: 0x2000 },
      },
      [
        { espGva: 0x7_fff8, eipGva: 0x40_1000, code64Sel: 8 },
        { espGva: 0x8_fff8, eipGva: 0x40_2000, code64Sel: 8 },
      ],
    );
    const m = new GuestCpu(() => {
      throw new Error("no TDCALL in 32-bit boot code");
    }).reset32();
    m.load(BigInt(TD_BOOT_PARAMETERS_GPA), block);
    m.load(BigInt(boot.gpa), boot.bytes);
    m.load(0x1000n, buildGdtPage(0x3000));
    m.load(0x40_2000n, new Uint8Array([0xf4])); // vCPU 1's entry: HLT
    // The one-to-one tables td_boot switches to (CR3 = 0x180000): GDT/IDT/TSS, the entry, the
    // boot parameters and the boot code. The GDT and the far pointer are read through them.
    const tables = new PageTableBuilder({
      levels: 4,
      memory: sparsePteMemory(m.mem),
      root: 0x18_0000,
      allocTable: (() => {
        let next = 0x18_1000;
        return () => {
          next += 0x1000;
          return next - 0x1000;
        };
      })(),
    });
    tables.map(0x1000, 0x1000, 0x3000);
    tables.map(0x40_0000, 0x40_0000, 0x1_0000);
    tables.map(TD_BOOT_PARAMETERS_GPA, TD_BOOT_PARAMETERS_GPA, 0x1000);
    const codePage = Math.floor(boot.gpa / 0x1000) * 0x1000;
    tables.map(codePage, codePage, FOUR_GIGABYTES_GPA - codePage);
    m.regs[GPR.rsi] = 1n; // vCPU index from TDH.VP.INIT order
    // Runs on the real CPU: setting CR0.PG before CR4.PAE and CR3 would be a #GP (a triple
    // fault here, with no IDT yet), and the far jump lands in 64-bit mode only if LMA is on.
    expect(m.runToHlt()).toBe(0x40_2000n);
    const sregs = m.cpu.getSregs();
    expect(sregs.cs.selector).toBe(8);
    expect(sregs.cs.l).toBe(1);
    expect(m.regs[GPR.rsp]).toBe(0x8_fff8n);
    expect(sregs.cr0).toBe(BigInt((TD_BOOT_CR0 | CR0.ET) >>> 0));
    expect(sregs.cr3).toBe(0x18_0000n);
    expect(sregs.cr4).toBe(BigInt(TD_BOOT_CR4));
    expect(sregs.efer).toBe(BigInt(TD_LONG_MODE_EFER));
    expect(sregs.gdt).toEqual({ limit: GDT_LIMIT, base: 0x1000n });
    expect(sregs.idt).toEqual({ limit: IDT_LIMIT, base: 0x2000n });
    expect([sregs.ds.selector, sregs.es.selector, sregs.ss.selector]).toEqual([0x10, 0x10, 0x10]);
    expect(m.cpu.getRegs().rflags & 0x200n).toBe(0n); // CLI
  });
});
