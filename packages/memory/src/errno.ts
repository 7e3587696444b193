// Linux errno values (x86-64, include/uapi/asm-generic/errno-base.h and errno.h). Every
// layer that answers like the kernel (memslots, guest_memfd, the kvm ioctls) throws an
// ErrnoError, so a caller sees the errno name, its number and what was wrong.

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  ERANGE: 34,
  ENOSYS: 38,
  ENODATA: 61,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  EHWPOISON: 133,
} as const;

export type ErrnoName = keyof typeof Errno;

const NAME_BY_NUMBER = new Map<number, ErrnoName>(
  (Object.entries(Errno) as [ErrnoName, number][]).map(([name, n]) => [n, name]),
);

export function errnoName(errno: number): ErrnoName | undefined {
  return NAME_BY_NUMBER.get(errno);
}

/** An error the kernel would report as -errno; the message says which field or rule failed. */
export class ErrnoError extends Error {
  override name = "ErrnoError";
  readonly errno: number;
  readonly code: ErrnoName;

  constructor(code: ErrnoName, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
    this.errno = Errno[code];
  }
}
