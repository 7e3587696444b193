// Bad use of the host half: each refusal names the upstream function and what was wrong, and
// leaves the TD as it was.
import { describe, expect, it } from "vitest";
import {
  addrGva2Gpa,
  assembleGuestImage,
  GuestProgram,
  loadTdMemoryRegions,
  readGuestMemory,
  syncGlobalFromGuest,
  syncGlobalToGuest,
  TdHostError,
  TdLayoutError,
  type TdVm,
  TdxConfigurationError,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdTestProcess,
  tdVcpuAdd,
  tdVcpuRun,
  virtMap,
  virtMapShared,
  vmVaddrAlloc,
  vmVaddrAllocShared,
  writeGuestMemory,
} from "../../src/index.js";
import { initializeTd } from "../e2e/boot-td.js";

const MiB = 1 << 20;
const IMAGE_GVA = 0x40_0000;

function image() {
  const program = new GuestProgram()
    .global("value", { size: 4 })
    .fn("guest_code", (f) => f.call("tdx_test_success"));
  return assembleGuestImage({ origin: IMAGE_GVA, program });
}

/** A TD initialized with the image and vCPU 0 added; finalized on request. */
function initializedTd(options: { finalize?: boolean } = {}): TdVm {
  const img = image();
  const td = initializeTd({ image: img.chunks, idtEntries: img.idtEntries }, img.symbol("guest_code"));
  if (options.finalize) tdFinalize(td);
  return td;
}

describe("host half: bad use gets a clear error", () => {
  it("loading or writing private memory after tdFinalize", () => {
    const td = initializedTd({ finalize: true });
    expect(() => loadTdMemoryRegions(td)).toThrow(
      "load_td_memory_region: the TD is finalized: its private memory is measured and no longer writable by the host",
    );
    expect(() => writeGuestMemory(td, IMAGE_GVA, new Uint8Array(4))).toThrow(
      "write_guest_memory: gva 0x400000 is private memory of a finalized TD: the host can reach only shared memory",
    );
    expect(() => readGuestMemory(td, IMAGE_GVA, 4)).toThrow(
      /read_guest_memory: gva 0x400000 is private memory/,
    );
  });

  it("a vCPU added after tdFinalize, or before tdInitialize; a vCPU index that does not exist", () => {
    const td = initializedTd({ finalize: true });
    expect(() => tdVcpuAdd(td, 1, IMAGE_GVA)).toThrow(/^td_vcpu_add: the TD is finalized/);
    expect(() => tdVcpuRun(td, 3)).toThrow("td_vcpu_run: no vCPU with index 3");
    expect(() => tdVcpuAdd(tdCreate({ process: tdTestProcess() }), 0, IMAGE_GVA)).toThrow(
      "td_vcpu_add: the TD is not initialized (call tdInitialize first)",
    );
  });

  it("out of order: td_initialize twice, a vCPU beyond max_vcpus or at unmapped code, run before finalize, finalize twice", () => {
    const img = image();
    const td = initializedTd();
    expect(() => tdInitialize(td, { image: img.chunks })).toThrow(
      "td_initialize: the TD is already initialized",
    );
    expect(() => tdVcpuAdd(td, 1, IMAGE_GVA)).toThrow(
      "td_vcpu_add: vCPU index 1 is beyond max_vcpus 1 of td_initialize",
    );
    expect(() => tdVcpuRun(td)).toThrow("td_vcpu_run: the TD is not finalized (call tdFinalize first)");
    tdFinalize(td);
    expect(() => tdFinalize(td)).toThrow(/^load_td_memory_region: the TD is finalized/);
    const other = tdCreate({ process: tdTestProcess() });
    tdInitialize(other, { image: img.chunks, memorySize: 16 * MiB });
    expect(() => tdVcpuAdd(other, 0, 0x7000_0000)).toThrow(
      "td_vcpu_add: guest code 0x70000000 is not mapped in the TD",
    );
  });

  it("a GVA that is already mapped (virt_map, virt_map_shared), with the TD's mappings unchanged", () => {
    const td = initializedTd();
    const before = td.plan!.layout.mappings();
    expect(() => virtMap(td, IMAGE_GVA, 0x80_0000, 1)).toThrow(TdLayoutError);
    expect(() => virtMap(td, IMAGE_GVA, 0x80_0000, 1)).toThrow(
      "virt_map: gva 0x400000 is already mapped (to gpa 0x400000)",
    );
    expect(() => virtMapShared(td, IMAGE_GVA, 0x80_0000, 1)).toThrow(
      /virt_map_shared: gva 0x400000 is already mapped/,
    );
    expect(td.plan!.layout.mappings()).toEqual(before);
  });

  it("an unsupported attribute or XFAM, before KVM_TDX_INIT_VM", () => {
    const img = image();
    const init = (attributes: bigint, xfam: bigint) => () =>
      tdInitialize(tdCreate({ process: tdTestProcess() }), {
        image: img.chunks,
        attributes,
        xfam,
        memorySize: 16 * MiB,
      });
    expect(init(1n << 30n, 3n)).toThrow(TdxConfigurationError);
    expect(init(1n << 30n, 3n)).toThrow(/^attributes: PKS \(bit 30\) not in supported_attrs/);
    expect(init(0n, 3n | (1n << 62n))).toThrow(
      /^xfam: bit 62 not in supported_xfam 0x[0-9a-f]+ of KVM_TDX_CAPABILITIES/,
    );
    expect(init(0n, 3n | (1n << 17n))).toThrow(/^xfam: 0x20003 has XTILE_CFG \(bit 17\) without XTILE_DATA/);
  });

  it("a vm_vaddr_alloc (private or shared) that does not fit in memslot 0", () => {
    const td = initializedTd();
    expect(() => vmVaddrAlloc(td, 32 * MiB)).toThrow(
      "vm_vaddr_alloc: no 8192 free contiguous page(s) at or above 0x2000 in memslot 0 [0x0, 0x1000000)",
    );
    expect(() => vmVaddrAllocShared(td, 32 * MiB)).toThrow(
      /^vm_vaddr_alloc_shared: no 8192 free contiguous page/,
    );
    expect(vmVaddrAlloc(td, 4096)).toBeGreaterThan(0); // nothing was claimed by the failed calls
  });

  it("a shared mapping of memory the TD keeps private: the measured image, td_boot's memslot, boot parameters", () => {
    const td = initializedTd();
    expect(() => virtMapShared(td, 0x7000_0000, IMAGE_GVA, 1)).toThrow(
      "virt_map_shared: gpa 0x400000 is private memory td_finalize loads and measures (KVM_TDX_INIT_MEM_REGION); a shared mapping of it would not reach those contents (only vm_vaddr_alloc pages, which the guest converts with MapGPA, may get a shared alias)",
    );
    expect(() => virtMapShared(td, 0x7000_0000, td.plan!.pgd, 1)).toThrow(/gpa 0x180000 is private memory/);
    expect(() => virtMapShared(td, 0x7000_0000, 0xffff_f000, 1)).toThrow(
      "virt_map_shared: gpa range [0xfffff000, 0x100000000) overlaps memslot 1 (td_boot code), which is private only",
    );
    expect(() => virtMapShared(td, 0x7000_0000, 0xffff_0000, 1)).toThrow(
      /overlaps memslot 2 \(boot parameters\)/,
    );
    virtMapShared(td, 0x7000_0000, 0x80_0000, 1); // unused memslot 0 memory may be shared
    // a vm_vaddr_alloc page may get a shared alias (verify_shared_mem: the guest converts it)
    const data = vmVaddrAlloc(td, 2 * 4096);
    virtMapShared(td, 0x7100_0000, addrGva2Gpa(td, data), 2);
  });

  it("a guest image that does not fit: outside memslot 0, or leaving no room for the page tables", () => {
    const img = image();
    expect(() =>
      tdInitialize(tdCreate({ process: tdTestProcess() }), { image: img.chunks, memorySize: 2 * MiB }),
    ).toThrow(/^guest image: \[0x400000, 0x40[0-9a-f]{4}\) lies outside memslot 0 \[0, 0x200000\)/);
    const filling = [{ gpa: 0, bytes: new Uint8Array(2 * MiB) }];
    expect(() =>
      tdInitialize(tdCreate({ process: tdTestProcess() }), { image: filling, memorySize: 2 * MiB }),
    ).toThrow(
      /^guest image \[0x0, 0x200000\) leaves no room in memslot 0 \[0, 0x200000\) for the root page table/,
    );
  });

  it("a vCPU whose stack does not fit: refused before KVM_CREATE_VCPU", () => {
    const td = tdCreate({ process: tdTestProcess() });
    const img = image();
    tdInitialize(td, { image: img.chunks, idtEntries: img.idtEntries, memorySize: 16 * MiB });
    // use up memslot 0: the largest allocations that still fit, halving down to one page
    for (let size = 8 * MiB; size >= 4096; size /= 2) {
      for (;;) {
        try {
          vmVaddrAlloc(td, size, 0x1000_0000);
        } catch {
          break;
        }
      }
    }
    expect(() => tdVcpuAdd(td, 0, img.symbol("guest_code"))).toThrow(
      /^td_vcpu_add: no room for vCPU 0's stack: /,
    );
    expect(td.vcpus).toEqual([]);
  });

  it("tdFinalize without a vCPU; sync_global_* of a missing global, a wrong size, a value that does not fit", () => {
    const img = image();
    const td = tdCreate({ process: tdTestProcess() });
    tdInitialize(td, { image: img.chunks, idtEntries: img.idtEntries, memorySize: 16 * MiB });
    expect(() => tdFinalize(td)).toThrow(
      "load_td_memory_region: needs a vCPU (KVM_TDX_INIT_MEM_REGION is a vCPU ioctl)",
    );
    expect(() => syncGlobalFromGuest(td, img, "nothing")).toThrow(
      'sync_global_from_guest: the guest image has no data global "nothing"',
    );
    expect(() => syncGlobalToGuest(td, img, "value", new Uint8Array(8))).toThrow(
      'sync_global_to_guest: global "value" has 4 bytes, the value 8',
    );
    expect(() => syncGlobalToGuest(td, img, "value", 2n ** 32n)).toThrow(
      'sync_global_to_guest: value 4294967296 does not fit global "value" of 4 byte(s) (unsigned)',
    );
    expect(() => syncGlobalToGuest(td, img, "value", 1.5)).toThrow(TdHostError);
  });
});
