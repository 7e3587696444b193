#!/usr/bin/env node
import { main } from "./main.js";
import { nodeIo } from "./node-io.js";

// `tdxsim selftests | head` closes the pipe early: stop quietly instead of an EPIPE stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2), nodeIo());
