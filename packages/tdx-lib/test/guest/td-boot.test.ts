import { disassemble } from "@tdxsim/x86";
import { describe, expect, it } from "vitest";
import {
  assembleTdBoot,
  encodeTdBootParameters,
  FOUR_GIGABYTES_GPA,
  GDT_LIMIT,
  IDT_LIMIT,
  placeTdBootCode,
  RESET_VECTOR_GPA,
  TD_BOOT_CR0,
  TD_BOOT_CR4,
  TD_BOOT_PARAMETERS_GPA,
} from "../../src/index.js";
import { gasText, hexBytes } from "./gas.js";
import { GPR, MiniMachine } from "./mini-interpreter.js";

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
    const m = new MiniMachine(() => {
      throw new Error("no TDCALL in 32-bit boot code");
    });
    m.mode = 32;
    m.load(BigInt(TD_BOOT_PARAMETERS_GPA), block);
    m.load(BigInt(boot.gpa), boot.bytes);
    m.regs[GPR.rsi] = 1n; // vCPU index from TDH.VP.INIT order
    m.rip = BigInt(RESET_VECTOR_GPA);
    while (m.system.cs === 0n) m.step();
    expect(m.rip).toBe(0x40_2000n);
    expect(m.system.cs).toBe(8n);
    expect(m.regs[GPR.rsp]).toBe(0x8_fff8n);
    expect(m.system.crWrites).toEqual([4, 3, 0]); // PAE and CR3 before PG
    expect(m.system.cr.get(0)).toBe(BigInt(TD_BOOT_CR0));
    expect(m.system.cr.get(3)).toBe(0x18_0000n);
    expect(m.system.cr.get(4)).toBe(BigInt(TD_BOOT_CR4));
    expect(m.system.gdtr).toEqual({ limit: BigInt(GDT_LIMIT), base: 0x1000n });
    expect(m.system.idtr).toEqual({ limit: BigInt(IDT_LIMIT), base: 0x2000n });
    expect([...m.system.sreg.values()]).toEqual([0x10n, 0x10n, 0x10n]);
    expect(m.system.interruptsEnabled).toBe(false);
  });
});
