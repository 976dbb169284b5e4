#!/usr/bin/env bash
# An uncaught Error prints its own properties and its cause after its stack,
# as node does ("{ code: 'ENOENT', [cause]: Error: inner ... }"), uncaught
# or as an unhandled rejection; an Error with neither prints its stack alone.
source "$(dirname "$0")/lib.sh"

run_dv8 -e "const e = new Error('boom', { cause: new TypeError('inner') }); e.code = 'ENOENT'; e.errno = -2; throw e"
expect_eq "status" "$STATUS" 1
expect_eq "error with code, errno and cause" "$(printf '%s\n' "$ERR" | sed -n '5,$p')" "Error: boom
    at [eval]:1:11 {
  code: 'ENOENT',
  errno: -2,
  [cause]: TypeError: inner
      at [eval]:1:38
}"
run_dv8 -e "Promise.reject(new RangeError('late', { cause: 'why' }))"
expect_eq "rejection: status" "$STATUS" 1
expect_eq "rejection with a cause" "$(printf '%s\n' "$ERR" | sed -n '5,$p')" "Uncaught (in promise) RangeError: late
    at [eval]:1:16 {
  [cause]: 'why'
}"
run_dv8 -e "throw new Error('plain')"
expect_eq "a plain error" "$(printf '%s\n' "$ERR" | sed -n '5,$p')" "Error: plain
    at [eval]:1:7"
