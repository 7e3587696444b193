#!/usr/bin/env node
import { main } from "./main.js";
import { exitQuietlyOnClosedStdout, nodeIo } from "./node-io.js";

exitQuietlyOnClosedStdout();
process.exitCode = await main(process.argv.slice(2), nodeIo());
