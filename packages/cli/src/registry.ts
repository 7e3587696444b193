import { tdxVmTests } from "@tdxsim/tdx-vm-tests";
import type { TdGuestRunner } from "./guest-runner.js";
import type { SelftestCase, SelftestProvider } from "./runner/selftest-case.js";
import { createTdGuestRunner } from "./td-runner/run-td-guest.js";

/**
 * What this build of `tdxsim` can run: the @tdxsim/tdx-vm-tests suite (its cases have the
 * SelftestCase shape; the assignment below makes TypeScript check that) and ELF guests in a TD
 * built by @tdxsim/tdx-lib's host half over @tdxsim/kvm.
 */
const suite: readonly SelftestCase[] = tdxVmTests;

export const registeredSelftests: SelftestProvider = () => suite;

export const registeredGuestRunner: TdGuestRunner | undefined = createTdGuestRunner();
