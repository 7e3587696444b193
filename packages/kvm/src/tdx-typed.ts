// The typed face of the TDX sub-commands: arguments as objects, results as values. Each call
// encodes the C struct into a private scratch address space and goes through the same parser and
// the same TdControl code as the raw ioctl, so both faces check arguments identically.
import { SparseMemory } from "@tdxsim/memory";
import { KVM_TDX_MEASURE_MEMORY_REGION } from "./uapi/constants.js";
import {
  type KvmCpuidEntry2,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  kvmTdxInitMemRegion,
  kvmTdxInitVmFixed,
} from "./uapi/structs.js";
import { MMAP_MIN_ADDR } from "./user-memory.js";

export interface TdxInitVmArgs {
  attributes?: bigint;
  xfam?: bigint;
  /** 48 bytes each (SHA-384), default zeros */
  mrconfigid?: Uint8Array;
  mrowner?: Uint8Array;
  mrownerconfig?: Uint8Array;
  cpuid: readonly KvmCpuidEntry2[];
}

export interface TdxInitMemRegionArgs {
  gpa: bigint | number;
  /** the initial contents, a whole number of 4 KiB pages */
  source: Uint8Array;
  measure?: boolean;
}

/** A throw-away user address space holding `bytes` at MMAP_MIN_ADDR (the struct's "pointer"). */
export function scratch(bytes: Uint8Array, room = 0): { mem: SparseMemory; addr: bigint } {
  const size = Math.ceil((MMAP_MIN_ADDR + bytes.length + room) / 4096) * 4096;
  const mem = new SparseMemory(size);
  mem.writeBytes(MMAP_MIN_ADDR, bytes);
  return { mem, addr: BigInt(MMAP_MIN_ADDR) };
}

function words(digest: Uint8Array | undefined, field: string): bigint[] {
  const d = digest ?? new Uint8Array(48);
  if (d.length !== 48) throw new RangeError(`${field} must be 48 bytes (SHA-384), not ${d.length}`);
  const v = new DataView(d.buffer, d.byteOffset, 48);
  return Array.from({ length: 6 }, (_, i) => v.getBigUint64(8 * i, true));
}

/** struct kvm_tdx_init_vm + entries as bytes. */
export function encodeTdxInitVm(a: TdxInitVmArgs): Uint8Array {
  const fixed = kvmTdxInitVmFixed.encode({
    attributes: a.attributes ?? 0n,
    xfam: a.xfam ?? 0n,
    mrconfigid: words(a.mrconfigid, "mrconfigid"),
    mrowner: words(a.mrowner, "mrowner"),
    mrownerconfig: words(a.mrownerconfig, "mrownerconfig"),
    cpuid: { nent: a.cpuid.length, padding: 0 },
  });
  const out = new Uint8Array(fixed.length + a.cpuid.length * kvmCpuidEntry2.size);
  out.set(fixed);
  a.cpuid.forEach((e, i) => {
    kvmCpuidEntry2.encode(e, out, fixed.length + i * kvmCpuidEntry2.size);
  });
  return out;
}

/** struct kvm_tdx_init_mem_region followed by the source pages; the flags for the command. */
export function encodeTdxInitMemRegion(a: TdxInitMemRegionArgs): {
  mem: SparseMemory;
  addr: bigint;
  flags: number;
} {
  const pages = Math.ceil(a.source.length / 4096);
  const sourceOffset = 4096; // the struct, then the pages from the next page on
  const bytes = new Uint8Array(sourceOffset + pages * 4096);
  bytes.set(a.source, sourceOffset);
  const { mem, addr } = scratch(bytes);
  mem.writeBytes(
    MMAP_MIN_ADDR,
    kvmTdxInitMemRegion.encode({
      source_addr: addr + BigInt(sourceOffset),
      gpa: BigInt(a.gpa),
      nr_pages: BigInt(pages),
    }),
  );
  return { mem, addr, flags: a.measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0 };
}

/** Reads a kvm_cpuid2 (header + entries) back. */
export function decodeCpuid2(mem: SparseMemory, addr: bigint): KvmCpuidEntry2[] {
  const a = Number(addr);
  const n = kvmCpuid2Header.decode(mem.readBytes(a, kvmCpuid2Header.size)).nent;
  return Array.from({ length: n }, (_, i) =>
    kvmCpuidEntry2.decode(
      mem.readBytes(a + kvmCpuid2Header.size + i * kvmCpuidEntry2.size, kvmCpuidEntry2.size),
    ),
  );
}
