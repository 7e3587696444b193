// Differential test against the host CPU: every family's helpers must agree bit for bit
// with the silicon on >= 99.9 % of randomized vectors (undefined flags masked per op, see
// families.ts). X86_NATIVE_VECTORS sets the vectors per op (CI default 150).

import { describe, expect, it } from "vitest";
import { compareFamily, families } from "./families.js";
import { nativeUnavailableReason, runNative } from "./native-harness.js";
import { Rng } from "./rng.js";

const PER_OP = Number(process.env.X86_NATIVE_VECTORS ?? 150);
const unavailable = nativeUnavailableReason();

describe.skipIf(unavailable !== null)(
  `native differential harness${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    families().forEach((family, i) => {
      it(`${family.name} agrees with the host CPU`, () => {
        const res = compareFamily(family, PER_OP, 0x5eed + i, runNative, (s) => new Rng(s));
        const rate = res.agree / res.total;
        if (res.agree !== res.total) {
          console.log(`${family.name}: ${res.agree}/${res.total}\n${res.mismatches.join("\n")}`);
        }
        expect(res.total).toBeGreaterThan(1000);
        expect(rate).toBeGreaterThanOrEqual(0.999);
      });
    });
  },
);
