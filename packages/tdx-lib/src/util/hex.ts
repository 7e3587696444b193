/** `0x…` formatting for messages; `width` pads with zeros to that many digits. */
export function hex(value: number | bigint, width = 0): string {
  return `0x${value.toString(16).padStart(width, "0")}`;
}
