// Help texts. The exit statuses follow kselftest where they overlap: 0 KSFT_PASS,
// 1 KSFT_FAIL, 4 KSFT_SKIP; 2 is the usual status for a bad command line.

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** kselftest's KSFT_SKIP: nothing could run here. */
export const EXIT_SKIP = 4;

export const MAIN_USAGE = `Usage: tdxsim <command> [options]

Commands:
  selftests [--list] [--filter PATTERN]... [--verbose]
                      run the TDX KVM selftests on the simulator, print KTAP
  run GUEST.elf [--vcpus N] [--max-instructions N] [--trace]
                      boot a statically linked x86-64 ELF guest in a TD

Options:
  -h, --help          show this help (tdxsim <command> --help for a command's)
  --version           print the version

Exit status: 0 success, 1 a test or the guest failed, 2 bad command line,
unusable guest ELF or a feature this build does not have, 4 nothing to run
(kselftest's KSFT_SKIP).
`;

export const SELFTESTS_USAGE = `Usage: tdxsim selftests [--list] [--filter PATTERN]... [--verbose]

Runs the TDX KVM selftests (tdx_vm_tests) on the simulator and prints KTAP
(TAP version 13) on stdout, one "ok"/"not ok" line per test.

  --list              print the selected test names, one per line
  --filter PATTERN    select the tests whose name contains PATTERN, or matches
                      it whole when it has a glob character (*, ?, [...]);
                      repeat to select more
  --verbose           print every test's log and the stack of failures
  -h, --help          show this help

Exit status: 0 every selected test passed or was skipped, 1 a test failed or
no test matched, 2 bad command line, 4 no selftests are registered.
`;

export const RUN_USAGE = `Usage: tdxsim run GUEST.elf [--vcpus N] [--max-instructions N] [--trace]

Boots GUEST.elf (a statically linked x86-64 ELF: ET_EXEC, or a static PIE)
in a TD and prints its exits, ending with the guest's result.

  --vcpus N           number of vCPUs, 1 to 65535 (TD_PARAMS.max_vcpus is 16
                      bits; KVM_CAP_MAX_VCPUS may allow fewer), default 1
  --max-instructions N
                      guest instructions before a run without a result is
                      stopped as runaway (default 500000000)
  --trace             print every exit in detail as it happens (kvm_run fields,
                      instruction slices that ran out)
  -h, --help          show this help

The guest talks to the host as the TDX selftests do: a 4-byte write to port
0x30 is success, writes to port 0x31 are reports (64-bit values as two writes,
low half first), TDG.VP.VMCALL<ReportFatalError> is a failure. Reads of other
ports and MMIO get 0; MapGPA and implicit conversions are granted.

Exit status: 0 every vCPU reported success, 1 the guest failed (fatal error,
unexpected exit, halted, no result within the instruction limit), 2 bad
command line, unusable ELF, or a TD that cannot be built from it.
`;
