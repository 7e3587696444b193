export * from "./uapi/index.js";
