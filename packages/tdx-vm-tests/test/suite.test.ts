// Every case of the suite as a vitest test, so CI counts them one by one.
import { describe, expect, it } from "vitest";
import { tdxVmTests } from "../src/index.js";

describe("tdx_vm_tests", () => {
  it("has unique upstream names", () => {
    const names = tdxVmTests.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
  });

  for (const testCase of tdxVmTests) {
    it(testCase.name, async () => {
      const log: string[] = [];
      await testCase.run({ name: testCase.name, log: (text) => log.push(text) });
    });
  }
});
