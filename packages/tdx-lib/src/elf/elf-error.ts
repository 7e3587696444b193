/** A malformed or unsupported ELF file; `field` names the header field or table entry at fault. */
export class ElfError extends Error {
  override name = "ElfError";
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}
