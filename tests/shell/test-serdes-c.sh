#!/usr/bin/env bash
# The host's serdes (serdes/serdes.c) against serdes.js: what the host packs
# decodes in dv8 to the intended values; over the whole fuzzing corpus the C
# walker accepts every message dv8's decoder accepts (it checks structure,
# so it may accept more, never less); and it finds the handles dv8 wrote.
source "$(dirname "$0")/lib.sh"
TOOL="$DV8_BUILD/tests/unit/serdes/serdes"
[ -x "$TOOL" ] || fail "missing $TOOL (make test builds it)"

# 1. Host-packed bytes, decoded by dv8.
"$TOOL" --pack >"$TMP/host.bin"
cat >"$TMP/check.js" <<'JS'
import * as fs from 'fs';
import { decode, Handle } from 'serdes';
const v = decode(fs.readFileSync(dv8.args[0]), 0, undefined, { timestamps: 'exact' });
const [u, e, t, h, s] = v;
console.log(v.length, u === undefined, e instanceof TypeError, e.message, JSON.stringify(e.stack),
  t.seconds, t.nanoseconds, h instanceof Handle, h.id, s);
JS
run_dv8 "$TMP/check.js" "$TMP/host.bin"
expect_eq "dv8 decoding what the host packed (status $STATUS, $ERR)" "$OUT" \
  '5 true true heap limit reached "TypeError: heap limit reached\n    at worker" 1700000000 123456789 true 42 host'

# 2. Verdicts over the corpus: JS ok implies C ok.
files=("$ROOT"/tests/serdes/corpus/*)
[ "${#files[@]}" -ge 300 ] || fail "corpus has ${#files[@]} files"
"$DV8" "$ROOT/tests/serdes/verdicts.js" "${files[@]}" >"$TMP/js.txt"
"$TOOL" --walk "${files[@]}" >"$TMP/c.txt"
expect_eq "verdict count" "$(wc -l <"$TMP/c.txt")" "$(wc -l <"$TMP/js.txt")"
paste -d'\n' "$TMP/js.txt" "$TMP/c.txt" | paste - - | awk -F'\t' '
  { split($1, j, " "); split($2, c, " ")
    if (j[2] == "ok" && c[2] != "ok") { print "C refuses what JS accepts: " $0; bad++ }
    if (j[2] == "ok") jok++; if (c[2] == "ok") cok++; n++ }
  END { printf "%d files: JS accepts %d, C accepts %d\n", n, jok, cok; exit bad > 0 }' >"$TMP/cmp.txt" ||
  fail "$(cat "$TMP/cmp.txt")"
expect_match "corpus comparison" "$(cat "$TMP/cmp.txt")" '^[0-9]+ files: JS accepts [0-9]+, C accepts [0-9]+$'
# Both verdicts are common in the corpus: the comparison is not vacuous.
read -r n _ _ _ jok _ _ cok < <(tr -d ',:' <"$TMP/cmp.txt")
[ "$jok" -ge 100 ] && [ $((n - cok)) -ge 20 ] || fail "corpus too one-sided: $(cat "$TMP/cmp.txt")"

# 3. Handles written by dv8, found by the host, in order, nested ones too.
cat >"$TMP/handles.js" <<'JS'
import * as fs from 'fs';
import { encode, Handle } from 'serdes';
const h = (id) => new Handle(id);
const state = { a: [h(11), new Map([[h(12), new Set([h(13)])]])], err: Object.assign(new Error('x'), { fd: h(14) }), b: h(2 ** 40) };
const bytes = encode(state, { handles: (v) => (v instanceof Handle ? v.id : undefined) });
fs.writeFileSync(dv8.args[0], bytes);
JS
run_dv8 "$TMP/handles.js" "$TMP/handles.bin"
expect_eq "dv8 writing handles (status $STATUS, $ERR)" "$STATUS" 0
expect_eq "handles found by the host" "$("$TOOL" --handles "$TMP/handles.bin")" "11
12
13
14
1099511627776"
