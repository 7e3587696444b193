export * from "./assert.js";
export * from "./selftest-case.js";
export * from "./suite.js";
export * from "./td-setup.js";
