#!/usr/bin/env bash
# Imports of node's modules and of npm packages say what to do in dv8:
# 'node:fs' and 'child_process' name dv8's equivalent; a name a native
# module does not export lists what it has (and for fs's ...Sync names, the
# function that is synchronous already), statically or with import(); a
# bare name that is no native module says npm packages import by path.
source "$(dirname "$0")/lib.sh"

run_dv8 -e "import fs from 'node:fs'"
expect_eq "node:fs: status" "$STATUS" 1
expect_eq "node:fs" "$ERR" "dv8: cannot import 'node:fs': it is node's; in dv8 use dv8's 'fs' (readFileSync, writeFileSync, statSync... throw Errors with .code; readFile, writeFile... return promises: modules/fs/README.md)"
run_dv8 -e "import 'node:sqlite'"
expect_eq "node:sqlite" "$ERR" "dv8: cannot import 'node:sqlite': it is node's, and dv8 has no module like it"
run_dv8 -e "import { spawn } from 'child_process'"
expect_match "child_process" "$ERR" "^dv8: cannot find module 'child_process' \(searched .*\): it is node's; in dv8 use dv8's 'process' \(spawn, exec: docs/processes.md\)$"
run_dv8 -e "import _ from 'lodash'"
expect_match "an npm package" "$ERR" "^dv8: cannot find module 'lodash' \(searched .*\): bare names are dv8's native modules; an npm package is imported by the path of its file \(import x from './node_modules/lodash/...js'\)$"
run_dv8 -e "import { createReadStream } from 'fs'"
expect_eq "createReadStream: status" "$STATUS" 1
# fs has a JS layer: its own exports are listed with the native ones.
expect_match "createReadStream" "$ERR" "SyntaxError: The requested module 'fs' does not provide an export named 'createReadStream' \(dv8's 'fs' has appendFile, appendFileSync, .*, readFile, readFileSync, .*, writeSync\)$"
echo "import { spawnSync } from 'process';" >"$TMP/m.js"
run_dv8 "$TMP/m.js"
expect_match "from a file" "$ERR" "SyntaxError: The requested module 'process' does not provide an export named 'spawnSync' \(dv8's 'process' has ChildProcess, close, error, exec, kill, .*spawn\)$"
run_dv8 -e "try { await import('$TMP/m.js'); } catch (e) { console.log(e.message); }"
expect_eq "import() rejects with the same" "$OUT" "The requested module 'process' does not provide an export named 'spawnSync' (dv8's 'process' has ChildProcess, close, error, exec, kill, onExit, onSignal, pid, ref, refSignal, spawn)"
