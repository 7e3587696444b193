export {
  type DisassembledLine,
  type DisassembleOptions,
  disassemble,
  disassembleText,
  formatLine,
} from "./disassemble.js";
export { type FormattedInstruction, formatInstruction, formatParts, registerName } from "./format.js";
