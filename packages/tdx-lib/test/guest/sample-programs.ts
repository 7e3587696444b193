// Builder functions more than one test uses: the same C, compared with GNU as in one test and
// executed on the CPU in another.
import type { GuestProgram } from "../../src/index.js";

/** u64 sum_to(u64 n) { u64 i = 0, s = 0; while (i < n) { i = i + 1; s = s + i * 2; } return s; } */
export function defineSumTo(g: GuestProgram): GuestProgram {
  return g.fn("sum_to", { params: 1 }, (f, n) => {
    const i = f.local(0);
    const s = f.local(0);
    f.while(
      () => f.lt(i, n),
      () => {
        f.set(i, f.add(i, 1));
        f.set(s, f.add(s, f.mul(i, 2)));
      },
    );
    f.ret(s);
  });
}
