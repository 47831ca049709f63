#!/usr/bin/env node
// The one executable: `herald push-node`, `herald operator`, `herald sim`.
import "../dist/cli.js";
