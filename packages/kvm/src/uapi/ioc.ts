// The asm-generic ioctl request encoding used by x86-64 (include/uapi/asm-generic/ioctl.h):
// bits 7:0 nr, 15:8 type, 29:16 argument size, 31:30 direction (1 = write, 2 = read,
// from the caller's point of view: _IOW copies *to* the kernel). Request numbers are
// unsigned 32-bit values, e.g. KVM_SET_REGS = _IOW(0xAE, 0x82, struct kvm_regs) = 0x4090AE82.

export const IOC_NRBITS = 8;
export const IOC_TYPEBITS = 8;
export const IOC_SIZEBITS = 14;
export const IOC_DIRBITS = 2;

export const IOC_NRSHIFT = 0;
export const IOC_TYPESHIFT = IOC_NRSHIFT + IOC_NRBITS;
export const IOC_SIZESHIFT = IOC_TYPESHIFT + IOC_TYPEBITS;
export const IOC_DIRSHIFT = IOC_SIZESHIFT + IOC_SIZEBITS;

export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

const SIZE_LIMIT = 1 << IOC_SIZEBITS;

/** _IOC(dir, type, nr, size) as an unsigned 32-bit number. */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  if (!Number.isInteger(dir) || dir < 0 || dir > 3) throw new RangeError(`ioctl dir ${dir} is not 0..3`);
  if (!Number.isInteger(type) || type < 0 || type > 0xff)
    throw new RangeError(`ioctl type ${type} is not a byte`);
  if (!Number.isInteger(nr) || nr < 0 || nr > 0xff) throw new RangeError(`ioctl nr ${nr} is not a byte`);
  if (!Number.isInteger(size) || size < 0 || size >= SIZE_LIMIT) {
    throw new RangeError(`ioctl argument size ${size} does not fit in ${IOC_SIZEBITS} bits`);
  }
  return (
    ((dir << IOC_DIRSHIFT) | (size << IOC_SIZESHIFT) | (type << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT)) >>> 0
  );
}

export const io = (type: number, nr: number): number => ioc(IOC_NONE, type, nr, 0);
export const ior = (type: number, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);
export const iow = (type: number, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
export const iowr = (type: number, nr: number, size: number): number =>
  ioc(IOC_READ | IOC_WRITE, type, nr, size);

export interface DecodedIoctl {
  dir: number;
  type: number;
  nr: number;
  size: number;
}

/** _IOC_DIR/_IOC_TYPE/_IOC_NR/_IOC_SIZE of a request number. */
export function decodeIoctl(request: number): DecodedIoctl {
  const r = request >>> 0;
  return {
    dir: (r >>> IOC_DIRSHIFT) & ((1 << IOC_DIRBITS) - 1),
    type: (r >>> IOC_TYPESHIFT) & ((1 << IOC_TYPEBITS) - 1),
    nr: (r >>> IOC_NRSHIFT) & ((1 << IOC_NRBITS) - 1),
    size: (r >>> IOC_SIZESHIFT) & (SIZE_LIMIT - 1),
  };
}
