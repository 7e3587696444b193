import { describe, expect, it } from "vitest";
import { globToRegExp, isGlob, nameMatcher } from "../src/runner/filter.js";

describe("--filter patterns", () => {
  it("plain text is a substring match, case-sensitive", () => {
    const match = nameMatcher(["ioexit"]);
    expect(match("verify_td_ioexit")).toBe(true);
    expect(match("verify_td_IOEXIT")).toBe(false);
    expect(match("verify_guest_reads")).toBe(false);
  });

  it("no pattern selects everything", () => {
    expect(nameMatcher([])("anything")).toBe(true);
  });

  it("globs match the whole name", () => {
    expect(isGlob("verify_*")).toBe(true);
    expect(isGlob("verify.td")).toBe(false);
    expect(globToRegExp("verify_*_reads").test("verify_guest_msr_reads")).toBe(true);
    expect(globToRegExp("*reads").test("verify_guest_reads_x")).toBe(false);
    expect(globToRegExp("verify_guest_????s").test("verify_guest_reads")).toBe(true);
    expect(globToRegExp("verify_guest_????s").test("verify_guest_writes")).toBe(false);
  });

  it("character classes, negated classes and an unclosed bracket", () => {
    expect(globToRegExp("verify_td_[ic]*").test("verify_td_cpuid")).toBe(true);
    expect(globToRegExp("verify_td_[ic]*").test("verify_td_lifecycle")).toBe(false);
    expect(globToRegExp("verify_td_[!ic]*").test("verify_td_lifecycle")).toBe(true);
    expect(globToRegExp("verify_td_[a-d]*").test("verify_td_cpuid")).toBe(true);
    expect(globToRegExp("a[b").test("a[b")).toBe(true);
  });

  it("regex characters in a pattern are literal", () => {
    expect(globToRegExp("a.b*").test("axb")).toBe(false);
    expect(globToRegExp("a.b*").test("a.bc")).toBe(true);
    expect(globToRegExp("(x)+*").test("(x)+y")).toBe(true);
    expect(nameMatcher(["a.b"])("xa.by")).toBe(true);
    expect(nameMatcher(["a.b"])("xazby")).toBe(false);
  });
});
