import { describe, expect, it } from "vitest";
import { Errno, ErrnoError, errnoName } from "../src/index.js";

describe("errno", () => {
  it("has the Linux x86-64 values", () => {
    expect([Errno.EINTR, Errno.EIO, Errno.EFAULT, Errno.EBUSY, Errno.EEXIST, Errno.EINVAL]).toEqual([
      4, 5, 14, 16, 17, 22,
    ]);
    expect([Errno.ENOTTY, Errno.ENOSPC, Errno.ENOSYS, Errno.EOPNOTSUPP, Errno.EHWPOISON]).toEqual([
      25, 28, 38, 95, 133,
    ]);
  });
  it("names numbers and carries name, number and reason in errors", () => {
    expect(errnoName(17)).toBe("EEXIST");
    expect(errnoName(9999)).toBeUndefined();
    const e = new ErrnoError("EINVAL", "memory_size 4097 is not a multiple of 4096");
    expect(e.errno).toBe(22);
    expect(e.code).toBe("EINVAL");
    expect(e.message).toBe("EINVAL: memory_size 4097 is not a multiple of 4096");
    expect(e).toBeInstanceOf(Error);
  });
});
