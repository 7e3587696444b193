// The setup every test shares: tdx-lib's TD fixture (td_create, td_initialize, td_vcpu_add,
// td_finalize around a builder guest program), run on this suite's host process so that
// countGuestInstructions sees every TD a test boots.
import {
  bootTd as bootFixtureTd,
  type GuestImage,
  type GuestProgram,
  type TdBootOptions,
  type TdVm,
} from "@tdxsim/tdx-lib";
import { newTdProcess } from "./td-host.js";

/** tdx-lib's bootTd on newTdProcess() unless `options.process` names another VMM process. */
export function bootTd(program: GuestProgram, options: TdBootOptions = {}): { td: TdVm; image: GuestImage } {
  return bootFixtureTd(program, { ...options, process: options.process ?? newTdProcess() });
}
