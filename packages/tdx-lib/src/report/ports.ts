// Guest → host reporting of the TDX selftests (test_util.h and the test files of the
// series): the guest writes to these ports with TDG.VP.VMCALL<Instruction.IO>, the host
// sees KVM_EXIT_IO. The same numbers as upstream, so traces compare line by line.

/** tdx_test_success(): 4-byte OUT of 0 to port 0x30. */
export const TDX_TEST_SUCCESS_PORT = 0x30;
export const TDX_TEST_SUCCESS_SIZE = 4;

/** tdx_test_report_to_user_space(): 4-byte OUT of a value; 64-bit values go as two writes, low half first. */
export const TDX_TEST_REPORT_PORT = 0x31;
export const TDX_TEST_REPORT_SIZE = 4;

/** Ports of individual tests (tdx_vm_tests.c, tdx_shared_mem_test.c, tdx_upm_test.c). */
export const TDX_IOEXIT_TEST_PORT = 0x50;
export const TDX_IO_WRITES_TEST_PORT = 0x51;
export const TDX_IO_READS_TEST_PORT = 0x52;
export const TDX_HOST_READ_PRIVATE_MEM_PORT_TEST = 0x53;
export const TDX_SHARED_MEM_TEST_INFO_PORT = 0x87;
export const TDX_UPM_TEST_ACCEPT_PRINT_PORT = 0x87;

/** TDG_VP_VMCALL_INSTRUCTION_IO_READ / _WRITE: the R13 direction, equal to KVM_EXIT_IO_IN / _OUT. */
export const TDG_VP_VMCALL_INSTRUCTION_IO_READ = 0;
export const TDG_VP_VMCALL_INSTRUCTION_IO_WRITE = 1;

/** TDX_MMIO_TEST_ADDR: a GPA (8 GiB) no memslot covers. */
export const TDX_MMIO_TEST_ADDR = 0x2_0000_0000;
