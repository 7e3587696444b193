// Disassembles one routine of a guest image (symbol to next symbol) as normalised Intel text,
// with branch and call targets replaced by symbol names and INT3 padding dropped.
import { disassemble } from "@tdxsim/x86";
import type { GuestImage } from "../../src/index.js";

export function routineText(image: GuestImage, name: string): string[] {
  const start = image.symbol(name);
  const addresses = [...image.symbols.values()].filter((a) => a > start).sort((x, y) => (x < y ? -1 : 1));
  const end = addresses[0] ?? image.origin + BigInt(image.bytes.length);
  const bytes = image.bytes.subarray(Number(start - image.origin), Number(end - image.origin));
  const byAddress = new Map([...image.symbols].map(([n, a]) => [a.toString(16), n]));
  return disassemble(bytes, { address: start })
    .map((l) => l.text.replace(/\s+/g, " ").replace(/\s*#.*$/, ""))
    .filter((t) => t !== "int3")
    .filter((t, i, all) => t !== "add BYTE PTR [rax],al" || all.slice(i).some((u) => u !== t)) // zero padding before the data
    .map((t) =>
      t.replace(/^(call|jmp|j[a-z]+) ([0-9a-f]+)$/, (_m, op, target) => {
        const symbol = byAddress.get(target);
        return symbol ? `${op} ${symbol}` : `${op} ${localTarget(start, BigInt(`0x${target}`))}`;
      }),
    );
}

/** Branches inside a routine as "+offset" so expectations do not depend on the image origin. */
function localTarget(start: bigint, target: bigint): string {
  return `+0x${(target - start).toString(16)}`;
}
