import type { TdGuestRunner } from "./guest-runner.js";
import type { SelftestProvider } from "./runner/selftest-case.js";

/**
 * What this build of `tdxsim` can run. @tdxsim/tdx-vm-tests and @tdxsim/kvm do not exist yet:
 * when they do, `registeredSelftests` returns the suite's list and `registeredGuestRunner`
 * becomes the KVM-backed runner. Until then the commands say so and exit non-zero.
 */
export const registeredSelftests: SelftestProvider = () => [];

export const registeredGuestRunner: TdGuestRunner | undefined = undefined;
