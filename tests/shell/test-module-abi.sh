# Native modules built wrongly are refused with a clear message: an ABI
# version newer than this dv8's or older than the oldest it loads (before
# any of the module's code runs), a missing dv8_module symbol, a file that
# is no shared object, an init that fails. (A module built for the previous
# ABI loads: tests/js/test-module-abi2.js.)
source "$(dirname "$0")/lib.sh"
export DV8_PATH="$DV8_TEST_MODULES"

run_dv8 -e 'import "badabi"'
expect_eq "wrong ABI status" "$STATUS" 1
expect_match "wrong ABI" "$ERR" "^dv8: native module 'badabi' \(.*/badabi.so\) was built for dv8 module ABI 999, but this dv8 loads ABI [0-9]+ to [0-9]+"

run_dv8 -e 'import "abi1"'
expect_eq "ABI 1 status" "$STATUS" 1
expect_match "ABI 1 refused" "$ERR" "^dv8: native module 'abi1' \(.*/abi1.so\) was built for dv8 module ABI 1, but this dv8 loads ABI 2 to [0-9]+: rebuild it against this dv8's dv8.h"

# The ABI is read from the file before the module is opened: a module
# refused for it runs nothing, not even its constructors (dlopen would).
export DV8_TEST_CTOR_FILE="$TMP/constructor-ran"
run_dv8 -e 'import "ctorabi"'
expect_eq "wrong ABI with a constructor: status" "$STATUS" 1
expect_match "wrong ABI with a constructor" "$ERR" "^dv8: native module 'ctorabi' \(.*/ctorabi.so\) was built for dv8 module ABI 998"
[ ! -e "$DV8_TEST_CTOR_FILE" ] || fail "the refused module's constructor ran: $(cat "$DV8_TEST_CTOR_FILE")"

run_dv8 -e 'import "nosym"'
expect_eq "missing symbol status" "$STATUS" 1
expect_match "missing symbol" "$ERR" "does not export the symbol dv8_module"

run_dv8 -e 'import "failinit"'
expect_eq "failing init status" "$STATUS" 1
expect_match "failing init" "$ERR" "native module 'failinit' failed to initialise: ENOMEM"

printf 'not a shared object\n' >"$TMP/text.so"
DV8_PATH="$TMP" run_dv8 -e 'import "text"'
expect_match "not a shared object" "$ERR" "^dv8: cannot load native module 'text' \($TMP/text.so\): not an ELF file"

run_dv8 -e 'import "../etc/passwd"'
expect_eq "path-like names are files, not modules" "$STATUS" 1

# DV8_PATH comes first: a module there shadows nothing else by accident,
# and an empty entry is skipped.
DV8_PATH=":$DV8_TEST_MODULES:" run_dv8 -e 'import { add } from "apitest"; console.log(add(1, 2))'
expect_eq "DV8_PATH with empty entries" "$OUT" "3"
