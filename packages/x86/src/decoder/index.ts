export { decodeInto } from "./decode.js";
export * from "./record.js";
export { Decoded, type DecodedOperand, decodeOne } from "./view.js";
