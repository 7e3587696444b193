/** Misuse of the TD memory layout (a GVA already mapped, memory exhausted, a region outside its memslot). */
export class TdLayoutError extends Error {
  override name = "TdLayoutError";
}
