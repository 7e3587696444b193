export * from "./library-abi.js";
