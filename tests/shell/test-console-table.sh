#!/usr/bin/env bash
# console.table prints as node's does: box-drawn, left-aligned cells, an
# (index) column, a column per key of the rows that are objects, a Values
# column for the others, Maps and Sets by iteration index, the properties
# argument choosing columns, wide characters counted as two columns; what
# is not an object prints as console.log would. The expected text is what
# node 20 prints for the same calls.
source "$(dirname "$0")/lib.sh"
run_dv8 -e "
console.table([{a:1,b:'x'},{a:2, c:{d:{e:1}}}, 5]);
console.table({r1:{x:1}, r2:{y:[1,2]}});
console.table(new Map([['k',{v:1}]]));
console.table(new Set(['s']));
console.table([[1,2],[3]]);
console.table([{a:1,b:2}], ['b']);
console.table(3); console.table('str'); console.table([]);
console.table([{ 'é漢': 1 }]);
"
expect_eq "console.table (status $STATUS, $ERR)" "$OUT" "$(cat <<'TABLE'
┌─────────┬───┬─────┬─────────────────┬────────┐
│ (index) │ a │ b   │ c               │ Values │
├─────────┼───┼─────┼─────────────────┼────────┤
│ 0       │ 1 │ 'x' │                 │        │
│ 1       │ 2 │     │ { d: [Object] } │        │
│ 2       │   │     │                 │ 5      │
└─────────┴───┴─────┴─────────────────┴────────┘
┌─────────┬───┬──────────┐
│ (index) │ x │ y        │
├─────────┼───┼──────────┤
│ r1      │ 1 │          │
│ r2      │   │ [ 1, 2 ] │
└─────────┴───┴──────────┘
┌───────────────────┬─────┬──────────┐
│ (iteration index) │ Key │ Values   │
├───────────────────┼─────┼──────────┤
│ 0                 │ 'k' │ { v: 1 } │
└───────────────────┴─────┴──────────┘
┌───────────────────┬────────┐
│ (iteration index) │ Values │
├───────────────────┼────────┤
│ 0                 │ 's'    │
└───────────────────┴────────┘
┌─────────┬───┬───┐
│ (index) │ 0 │ 1 │
├─────────┼───┼───┤
│ 0       │ 1 │ 2 │
│ 1       │ 3 │   │
└─────────┴───┴───┘
┌─────────┬───┐
│ (index) │ b │
├─────────┼───┤
│ 0       │ 2 │
└─────────┴───┘
3
str
┌─────────┐
│ (index) │
├─────────┤
└─────────┘
┌─────────┬─────┐
│ (index) │ é漢 │
├─────────┼─────┤
│ 0       │ 1   │
└─────────┴─────┘
TABLE
)"
