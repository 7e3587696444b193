// TDX module completion status codes (TDX module ABI spec; the same values as the kernel's
// arch/x86/include/asm/shared/tdx_errno.h), as 64-bit RAX values.
export const TDX_SUCCESS = 0n;
/** TDX_OPERAND_INVALID with operand id RCX (1) in the low bits. */
export const TDX_OPERAND_INVALID_RCX = 0xc000_0100_0000_0001n;
export const TDX_NO_VALID_VE_INFO = 0xc000_0704_0000_0000n;
export const TDX_PAGE_ALREADY_ACCEPTED = 0x0000_0b0a_0000_0000n;
/** TDX_OPERAND_INVALID with operand id RAX (0): e.g. an unknown TDCALL leaf. */
export const TDX_OPERAND_INVALID_RAX = 0xc000_0100_0000_0000n;
/** TDX_PAGE_SIZE_MISMATCH: the requested level differs from the Secure EPT mapping's. */
export const TDX_PAGE_SIZE_MISMATCH = 0xc000_0b0b_0000_0000n;
