// Compares the uapi module with the real kernel headers: a C program generated from our own
// definitions is compiled with the system `cc` against /usr/include/linux/kvm.h and asm/kvm.h
// and prints sizeof/offsetof/macro values, which must equal ours. Installed headers may be
// older than 6.16 (Debian 12 ships 6.1): what they lack is checked against the upstream
// definitions written out below (from include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/
// kvm.h as of 6.16, read with the search tool) and the spec's computed request numbers.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KVM_IOCTLS,
  KVM_RUN_OFFSETS,
  KVM_RUN_SIZE,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  kvmCreateGuestMemfd,
  kvmDebugregs,
  kvmDirtyLog,
  kvmDtable,
  kvmEnableCap,
  kvmFpu,
  kvmInterrupt,
  kvmMemoryAttributes,
  kvmMpState,
  kvmMsrEntry,
  kvmMsrFilter,
  kvmMsrFilterRange,
  kvmMsrListHeader,
  kvmMsrsHeader,
  kvmPreFaultMemory,
  kvmRegs,
  kvmSegment,
  kvmSregs,
  kvmTdxCapabilitiesFixed,
  kvmTdxCmd,
  kvmTdxInitMemRegion,
  kvmTdxInitVmFixed,
  kvmUserspaceMemoryRegion,
  kvmUserspaceMemoryRegion2,
  kvmVcpuEvents,
  kvmXcr,
  kvmXcrs,
  kvmXsave,
  type StructDef,
  UAPI_CONSTANT_GROUPS,
} from "../src/uapi/index.js";

const HAVE_HEADERS =
  spawnSync("sh", ["-c", "command -v cc && test -f /usr/include/linux/kvm.h"]).status === 0;

/** Structs present in every installed kvm.h we support (Linux ≥ 5.10). */
const INSTALLED_STRUCTS: StructDef<unknown>[] = [
  kvmUserspaceMemoryRegion,
  kvmDirtyLog,
  kvmEnableCap,
  kvmRegs,
  kvmSegment,
  kvmDtable,
  kvmSregs,
  kvmDebugregs,
  kvmFpu,
  kvmXcr,
  kvmXcrs,
  kvmVcpuEvents,
  kvmXsave,
  kvmInterrupt,
  kvmMpState,
  kvmMsrEntry,
  kvmMsrsHeader,
  kvmMsrListHeader,
  kvmMsrFilterRange,
  kvmMsrFilter,
  kvmCpuidEntry2,
  kvmCpuid2Header,
] as StructDef<unknown>[];

/**
 * Upstream 6.16 definitions of what older headers lack, written out from the upstream header
 * text (field lists only) and named up_<name> so they never clash with installed ones.
 */
const UPSTREAM_C = `
struct up_kvm_userspace_memory_region2 { __u32 slot; __u32 flags; __u64 guest_phys_addr; __u64 memory_size;
  __u64 userspace_addr; __u64 guest_memfd_offset; __u32 guest_memfd; __u32 pad1; __u64 pad2[14]; };
struct up_kvm_create_guest_memfd { __u64 size; __u64 flags; __u64 reserved[6]; };
struct up_kvm_memory_attributes { __u64 address; __u64 size; __u64 attributes; __u64 flags; };
struct up_kvm_pre_fault_memory { __u64 gpa; __u64 size; __u64 flags; __u64 padding[5]; };
struct up_kvm_tdx_cmd { __u32 id; __u32 flags; __u64 data; __u64 hw_error; };
struct up_kvm_tdx_capabilities { __u64 supported_attrs; __u64 supported_xfam;
  __u64 kernel_tdvmcallinfo_1_r11; __u64 user_tdvmcallinfo_1_r11;
  __u64 kernel_tdvmcallinfo_1_r12; __u64 user_tdvmcallinfo_1_r12;
  __u64 reserved[250]; struct kvm_cpuid2 cpuid; };
struct up_kvm_tdx_init_vm { __u64 attributes; __u64 xfam; __u64 mrconfigid[6]; __u64 mrowner[6];
  __u64 mrownerconfig[6]; __u64 reserved[12]; struct kvm_cpuid2 cpuid; };
struct up_kvm_tdx_init_mem_region { __u64 source_addr; __u64 gpa; __u64 nr_pages; };
struct up_memory_fault { __u64 flags; __u64 gpa; __u64 size; };
struct up_tdx_exit { __u64 flags; __u64 nr; union {
  struct { __u64 ret; __u64 data[5]; } unknown;
  struct { __u64 ret; __u64 gpa; __u64 size; } get_quote;
  struct { __u64 ret; __u64 leaf; __u64 r11, r12, r13, r14; } get_tdvmcall_info;
  struct { __u64 ret; __u64 vector; } setup_event_notify; }; };
`;

const UPSTREAM_STRUCTS: StructDef<unknown>[] = [
  kvmUserspaceMemoryRegion2,
  kvmCreateGuestMemfd,
  kvmMemoryAttributes,
  kvmPreFaultMemory,
  kvmTdxCmd,
  kvmTdxCapabilitiesFixed,
  kvmTdxInitVmFixed,
  kvmTdxInitMemRegion,
] as StructDef<unknown>[];

/** Request numbers of ioctls newer than the installed headers: spec/kvm-api.md §0 (computed there). */
const SPEC_REQUESTS: Record<string, number> = {
  KVM_MEMORY_ENCRYPT_OP: 0xc008aeba,
  KVM_SET_USER_MEMORY_REGION2: 0x40a0ae49,
  KVM_SET_MEMORY_ATTRIBUTES: 0x4020aed2,
  KVM_CREATE_GUEST_MEMFD: 0xc040aed4,
  KVM_PRE_FAULT_MEMORY: 0xc040aed5,
  KVM_CREATE_VM: 0xae01,
  KVM_CREATE_VCPU: 0xae41,
  KVM_RUN: 0xae80,
  KVM_SET_TSC_KHZ: 0xaea2,
};

/**
 * Constants newer than the 6.1 headers, as read in upstream include/uapi/linux/kvm.h and
 * arch/x86/include/uapi/asm/kvm.h (linux-next, 2025) and spec/kvm-api.md §0.
 */
const UPSTREAM_CONSTANTS: Record<string, number | bigint> = {
  KVM_X86_DEFAULT_VM: 0,
  KVM_X86_SW_PROTECTED_VM: 1,
  KVM_X86_SEV_VM: 2,
  KVM_X86_SEV_ES_VM: 3,
  KVM_X86_SNP_VM: 4,
  KVM_X86_TDX_VM: 5,
  KVM_CAP_USER_MEMORY2: 231,
  KVM_CAP_MEMORY_FAULT_INFO: 232,
  KVM_CAP_MEMORY_ATTRIBUTES: 233,
  KVM_CAP_GUEST_MEMFD: 234,
  KVM_CAP_VM_TYPES: 235,
  KVM_CAP_PRE_FAULT_MEMORY: 236,
  KVM_CAP_X86_APIC_BUS_CYCLES_NS: 237,
  KVM_CAP_X86_GUEST_MODE: 238,
  KVM_EXIT_LOONGARCH_IOCSR: 38,
  KVM_EXIT_MEMORY_FAULT: 39,
  KVM_EXIT_TDX: 40,
  KVM_SYSTEM_EVENT_TDX_FATAL: 7,
  KVM_MEM_GUEST_MEMFD: 4,
  KVM_TDX_CAPABILITIES: 0,
  KVM_TDX_INIT_VM: 1,
  KVM_TDX_INIT_VCPU: 2,
  KVM_TDX_INIT_MEM_REGION: 3,
  KVM_TDX_FINALIZE_VM: 4,
  KVM_TDX_GET_CPUID: 5,
  KVM_TDX_TERMINATE_VM: 6,
  KVM_TDX_CMD_NR_MAX: 7,
  KVM_MEMORY_ATTRIBUTE_PRIVATE: 8n,
  KVM_MEMORY_EXIT_FLAG_PRIVATE: 8n,
  KVM_EXIT_HYPERCALL_LONG_MODE: 1n,
  KVM_TDX_MEASURE_MEMORY_REGION: 1,
  KVM_MSR_EXIT_REASON_VALID_MASK: 7,
};

/** kvm_run members newer than 6.1: offsets from the upstream struct (exit union at 32). */
const UPSTREAM_RUN_MEMBERS: Record<string, string> = {
  "memory_fault.flags": "32 + offsetof(struct up_memory_fault, flags)",
  "memory_fault.gpa": "32 + offsetof(struct up_memory_fault, gpa)",
  "memory_fault.size": "32 + offsetof(struct up_memory_fault, size)",
  "tdx.flags": "32 + offsetof(struct up_tdx_exit, flags)",
  "tdx.nr": "32 + offsetof(struct up_tdx_exit, nr)",
  "tdx.ret": "32 + offsetof(struct up_tdx_exit, unknown.ret)",
  "tdx.data": "32 + offsetof(struct up_tdx_exit, get_quote.gpa)",
};

function cExprForRunOffset(key: string): string {
  if (key in UPSTREAM_RUN_MEMBERS) return UPSTREAM_RUN_MEMBERS[key]!;
  if (key === "exit_union") return "offsetof(struct kvm_run, hw)";
  // 6.1 spells the hypercall flags union as "longmode" (same offset)
  if (key === "hypercall.flags") return "offsetof(struct kvm_run, hypercall.longmode)";
  return `offsetof(struct kvm_run, ${key})`;
}

function structLines(def: StructDef<unknown>, cName: string): string[] {
  const lines = [`P("size ${def.name}", sizeof(struct ${cName}));`];
  for (const f of def.fields)
    lines.push(`P("offset ${def.name}.${f.name}", offsetof(struct ${cName}, ${f.name}));`);
  return lines;
}

function buildProgram(): string {
  const body: string[] = [];
  for (const g of UAPI_CONSTANT_GROUPS) {
    for (const key of Object.keys(g.values)) {
      const name = `${g.prefix}${key}`;
      body.push(`#ifdef ${name}\nP("const ${name}", ${name});\n#else\nM("const ${name}");\n#endif`);
    }
  }
  for (const i of KVM_IOCTLS) {
    body.push(`#ifdef ${i.name}\nP("ioctl ${i.name}", ${i.name});\n#else\nM("ioctl ${i.name}");\n#endif`);
  }
  for (const def of INSTALLED_STRUCTS) body.push(...structLines(def, def.name));
  for (const def of UPSTREAM_STRUCTS) body.push(...structLines(def, `up_${def.name}`));
  for (const key of Object.keys(KVM_RUN_OFFSETS)) body.push(`P("run ${key}", ${cExprForRunOffset(key)});`);
  body.push(`P("size kvm_run", sizeof(struct kvm_run));`);
  return `#include <stddef.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#define P(k, v) printf("%s %llu\\n", k, (unsigned long long)(v))
#define M(k) printf("%s missing\\n", k)
${UPSTREAM_C}
int main(void) {
${body.join("\n")}
return 0;
}
`;
}

describe.skipIf(!HAVE_HEADERS)("uapi agrees with the C compiler and the kernel headers", () => {
  let dir = "";
  const facts = new Map<string, bigint | "missing">();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kvm-uapi-"));
    const src = join(dir, "probe.c");
    const exe = join(dir, "probe");
    writeFileSync(src, buildProgram());
    execFileSync("cc", ["-o", exe, src], { stdio: "pipe" });
    for (const line of execFileSync(exe, { encoding: "utf8" }).trim().split("\n")) {
      const at = line.lastIndexOf(" ");
      const value = line.slice(at + 1);
      facts.set(line.slice(0, at), value === "missing" ? "missing" : BigInt(value));
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("has every constant the headers define with the same value", () => {
    let compared = 0;
    for (const g of UAPI_CONSTANT_GROUPS) {
      for (const [key, value] of Object.entries(g.values)) {
        const fact = facts.get(`const ${g.prefix}${key}`);
        if (fact === "missing") continue;
        expect(BigInt(value), `${g.prefix}${key}`).toBe(fact);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it("has every ioctl request number the headers define", () => {
    let compared = 0;
    for (const i of KVM_IOCTLS) {
      const fact = facts.get(`ioctl ${i.name}`);
      if (fact === "missing") continue;
      expect(i.request.toString(16), i.name).toBe(fact!.toString(16));
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
  });

  it("lays out every struct as the compiler does", () => {
    for (const def of [...INSTALLED_STRUCTS, ...UPSTREAM_STRUCTS]) {
      expect(BigInt(def.size), `sizeof ${def.name}`).toBe(facts.get(`size ${def.name}`));
      for (const f of def.fields) {
        expect(BigInt(f.offset), `${def.name}.${f.name}`).toBe(facts.get(`offset ${def.name}.${f.name}`));
      }
    }
  });

  it("puts every kvm_run field where the headers do", () => {
    for (const [key, offset] of Object.entries(KVM_RUN_OFFSETS)) {
      expect(BigInt(offset), `kvm_run.${key}`).toBe(facts.get(`run ${key}`));
    }
    expect(BigInt(KVM_RUN_SIZE)).toBe(facts.get("size kvm_run"));
  });
});

describe("uapi agrees with the spec's numbers", () => {
  it("request numbers", () => {
    for (const [name, value] of Object.entries(SPEC_REQUESTS)) {
      const ours = KVM_IOCTLS.find((i) => i.name === name);
      expect(ours?.request, name).toBe(value);
    }
  });
  it("constants newer than the installed headers", () => {
    const ours = new Map<string, number | bigint>();
    for (const g of UAPI_CONSTANT_GROUPS)
      for (const [k, v] of Object.entries(g.values)) ours.set(g.prefix + k, v);
    for (const [name, value] of Object.entries(UPSTREAM_CONSTANTS)) expect(ours.get(name), name).toBe(value);
  });
  it("TDX struct sizes (spec §1.3-1.7)", () => {
    expect(kvmTdxCmd.size).toBe(24);
    expect(kvmTdxInitVmFixed.offsetOf("cpuid")).toBe(256);
    expect(kvmTdxCapabilitiesFixed.offsetOf("cpuid")).toBe(2048);
    expect(kvmTdxInitMemRegion.size).toBe(24);
    expect(kvmUserspaceMemoryRegion2.size).toBe(160);
    expect(kvmCreateGuestMemfd.size).toBe(64);
    expect(kvmMemoryAttributes.size).toBe(32);
  });
});
