import type { Assembler } from "@tdxsim/x86/asm";
import { tdxHypercall } from "./hypercall.js";
import { MODULE_CALL_ROUTINES } from "./module-call.js";
import type { GuestGlobal, GuestRoutine } from "./routines.js";
import { TDVMCALL_WRAPPERS } from "./tdvmcall-wrappers.js";
import { TEST_UTIL_ROUTINES } from "./test-util.js";
import { VE_GLOBALS, VE_ROUTINES } from "./ve-handler.js";

/** Every routine of the guest library, in image order. */
export const GUEST_LIBRARY_ROUTINES: readonly GuestRoutine[] = [
  tdxHypercall,
  ...TDVMCALL_WRAPPERS,
  ...MODULE_CALL_ROUTINES,
  ...TEST_UTIL_ROUTINES,
  ...VE_ROUTINES,
];

/** The library's globals (zero-initialised data after the code). */
export const GUEST_LIBRARY_GLOBALS: readonly GuestGlobal[] = [...VE_GLOBALS];

const BY_NAME = new Map(GUEST_LIBRARY_ROUTINES.map((r) => [r.name, r]));

export function guestLibraryRoutine(name: string): GuestRoutine | undefined {
  return BY_NAME.get(name);
}

/** Routines start 16-aligned (INT3 padding, so a stray fall-through traps). */
const ROUTINE_ALIGNMENT = 16;
/** Globals start on a cache line. */
const DATA_ALIGNMENT = 64;

export function emitGuestLibraryCode(a: Assembler): void {
  for (const routine of GUEST_LIBRARY_ROUTINES) {
    a.align(ROUTINE_ALIGNMENT, 0xcc);
    a.bind(routine.name);
    routine.emit(a);
  }
}

export function emitGuestLibraryData(a: Assembler): void {
  a.align(DATA_ALIGNMENT, 0);
  for (const global of GUEST_LIBRARY_GLOBALS) {
    a.align(8, 0);
    a.bind(global.name);
    a.zero(global.size);
  }
}
