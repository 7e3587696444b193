// vm_vaddr_alloc(_shared), virt_map_shared and host access to guest memory under the TDX rules.
import { KvmProcess } from "@tdxsim/kvm";
import { describe, expect, it } from "vitest";
import {
  addrGva2Gpa,
  assembleGuestImage,
  GuestProgram,
  isTdxEnabled,
  readGuestMemory,
  type TdVm,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdTestProcess,
  tdVcpuAdd,
  virtMapShared,
  vmVaddrAlloc,
  vmVaddrAllocShared,
  writeGuestMemory,
} from "../../src/index.js";

function initializedTd(): { td: TdVm; entry: bigint } {
  const program = assembleGuestImage({
    origin: 0x40_0000,
    program: new GuestProgram().fn("guest_code", (f) => {
      f.call("tdx_test_success");
    }),
  });
  const td = tdCreate({ process: tdTestProcess() });
  tdInitialize(td, { image: program.chunks, idtEntries: program.idtEntries, memorySize: 16 << 20 });
  return { td, entry: program.symbol("guest_code") };
}

/** The leaf PTE of `gva` in the host's copy of the page tables (4-level, 4 KiB leaves). */
function leafPte(td: TdVm, gva: number): bigint {
  let table = td.plan!.pgd;
  let entry = 0n;
  for (const shift of [39, 30, 21, 12]) {
    const index = Math.floor(gva / 2 ** shift) % 512;
    const b = td.readStaging(table + 8 * index, 8, "test");
    entry = new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
    expect(entry & 1n).toBe(1n);
    table = Number(entry & 0x7_ffff_ffff_f000n);
  }
  return entry;
}

describe("host half: memory", () => {
  it("is_tdx_enabled reads KVM_CAP_VM_TYPES", () => {
    expect(isTdxEnabled(new KvmProcess().openKvm())).toBe(true);
    expect(isTdxEnabled(new KvmProcess({ tdx: false }).openKvm())).toBe(false);
  });

  it("vm_vaddr_alloc maps private pages; vm_vaddr_alloc_shared and virt_map_shared put the shared bit in the leaf", () => {
    const { td } = initializedTd();
    const priv = vmVaddrAlloc(td, 0x2000);
    const shared = vmVaddrAllocShared(td, 0x1000);
    expect(leafPte(td, priv) & (1n << 47n)).toBe(0n);
    expect(leafPte(td, priv) & 0xf_f000n).toBe(BigInt(addrGva2Gpa(td, priv)));
    expect(leafPte(td, shared) & (1n << 47n)).toBe(1n << 47n);
    virtMapShared(td, 0x1000_0000, addrGva2Gpa(td, shared), 1);
    expect(leafPte(td, 0x1000_0000)).toBe(leafPte(td, shared));
    expect(() => virtMapShared(td, 0x1000_0000, 0x20_0000, 1)).toThrow(/gva 0x10000000 is already mapped/);
  });

  it("the host writes any page before td_finalize and only shared pages after it", () => {
    const { td, entry } = initializedTd();
    const priv = vmVaddrAlloc(td, 0x1000);
    const shared = vmVaddrAllocShared(td, 0x2000);
    writeGuestMemory(td, priv + 0xffc, new Uint8Array([1, 2, 3, 4]));
    expect([...readGuestMemory(td, priv + 0xffc, 4)]).toEqual([1, 2, 3, 4]);
    tdVcpuAdd(td, 0, entry);
    tdFinalize(td);
    writeGuestMemory(td, shared + 0xffe, new Uint8Array([9, 8, 7, 6])); // crosses a page
    expect([...readGuestMemory(td, shared + 0xffe, 4)]).toEqual([9, 8, 7, 6]);
    expect(() => readGuestMemory(td, priv, 4)).toThrow(
      /read_guest_memory: gva 0x[0-9a-f]+ is private memory of a finalized TD/,
    );
    expect(() => writeGuestMemory(td, 0x7000_0000, new Uint8Array(1))).toThrow(
      /gva 0x70000000 is not mapped/,
    );
    expect(() => vmVaddrAlloc(td, 0x1000)).toThrow(/vm_vaddr_alloc: the TD is finalized/);
  });
});
