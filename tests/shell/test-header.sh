# The public header stands alone: it compiles as C11 -pedantic and as C++,
# with every warning an error, and exposes no V8 type.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
printf '#include "dv8.h"\nint main(void) { return DV8_ABI_VERSION > 0 ? 0 : 1; }\n' >"$TMP/c.c"
cc -std=c11 -pedantic -Wall -Wextra -Werror -Iinclude -c "$TMP/c.c" -o "$TMP/c.o"
cp "$TMP/c.c" "$TMP/cpp.cc"
c++ -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -c "$TMP/cpp.cc" -o "$TMP/cpp.o"
if grep -nE 'v8::|#include <v8|namespace' include/dv8.h; then
  fail "include/dv8.h mentions V8 or C++"
fi
# Every function pointer of the API table has a comment line above it.
awk '/^struct dv8_api \{/,/^\};/' include/dv8.h >"$TMP/api"
members=$(grep -cE '^\s+[a-z_ *]+\(\*[a-z_0-9]+\)\(' "$TMP/api")
commented=$(grep -B1 -E '^\s+[a-z_ *]+\(\*[a-z_0-9]+\)\(' "$TMP/api" | grep -cE '^\s+/\*|\*/$')
expect_eq "every API function is documented" "$commented" "$members"
