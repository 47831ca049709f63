#!/usr/bin/env node
// The one executable: `herald --help` lists the commands (cli.ts).
import "../dist/cli.js";
