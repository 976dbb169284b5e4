# Thrown values that are not Errors and cannot be converted to a string (a
# Symbol, an object without a prototype, one whose toString throws) are
# described as inspect shows them, uncaught or when a reload's load()
# throws them; they read '<?>' before.
source "$(dirname "$0")/lib.sh"

run_dv8 -e 'throw Symbol("x")'
expect_eq "uncaught Symbol: status" "$STATUS" 1
expect_match "uncaught Symbol" "$ERR" '^Symbol\(x\)$'
run_dv8 -e 'throw Object.create(null)'
expect_match "uncaught null-prototype object" "$ERR" '^\[Object: null prototype\] \{\}$'

# Each reload's load() throws one; the old code goes on and tries the next.
cat >"$TMP/app.js" <<'EOF2'
let n = 0;
export function load(state) {
  if (state === undefined) return void setTimeout(next, 0);
  if (state.n === 1) throw Symbol('boom');
  if (state.n === 2) throw Object.create(null);
  if (state.n === 3) throw { toString() { throw new Error('no'); } };
}
function next() {
  if (++n > 3) return;
  dv8.reload();
  setTimeout(next, 50);
}
export function unload() { return { n }; }
EOF2
run_dv8 "$TMP/app.js"
expect_eq "reloads: status ($ERR)" "$STATUS" 0
expect_eq "load() threw values that cannot be converted" "$ERR" \
"dv8: reload failed, the old code goes on: load() threw: Symbol(boom)
dv8: reload failed, the old code goes on: load() threw: [Object: null prototype] {}
dv8: reload failed, the old code goes on: load() threw: { toString: [Function: toString] }"
