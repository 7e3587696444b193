/** Misuse of the guest-program builder: names the function and what was wrong. */
export class GuestProgramError extends Error {
  constructor(
    readonly functionName: string,
    message: string,
  ) {
    super(`${functionName}: ${message}`);
    this.name = "GuestProgramError";
  }
}
