export * from "./assert.js";
export * from "./instruction-counter.js";
export * from "./selftest-case.js";
export * from "./suite.js";
export * from "./td-host.js";
export * from "./td-setup.js";
