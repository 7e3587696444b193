import { tdxVmTests } from "@tdxsim/tdx-vm-tests";
import type { TdGuestRunner } from "./guest-runner.js";
import type { SelftestCase, SelftestProvider } from "./runner/selftest-case.js";

/**
 * What this build of `tdxsim` can run: the @tdxsim/tdx-vm-tests suite (its cases have the
 * SelftestCase shape; the assignment below makes TypeScript check that). No KVM-backed
 * `tdxsim run` runner is registered yet, so that command says so and exits non-zero.
 */
const suite: readonly SelftestCase[] = tdxVmTests;

export const registeredSelftests: SelftestProvider = () => suite;

export const registeredGuestRunner: TdGuestRunner | undefined = undefined;
