# console: log/info/debug go to stdout, error/warn/trace to stderr, with
# util.format-style substitutions and readable objects.
source "$(dirname "$0")/lib.sh"

cat >"$TMP/c.js" <<'JS'
console.log('plain', 1, true, null, undefined, 5n);
console.log('%s is %d years and %i days, %f', 'Bob', 42.5, 3.9, 1.5);
console.log('json %j and %O', { a: [1] }, [1, { b: 2 }]);
console.log('100%% sure', 'extra');
console.log({ nested: { deep: { deeper: { deepest: 1 } } }, list: [1, 'two'] });
console.log(new Map([['k', { v: 1 }]]), new Set(['a']));
console.info('info line');
console.debug('debug line');
console.error('error line', { code: 'E1' });
console.warn('warn line');
console.assert(1 === 1, 'not shown');
console.assert(false, 'shown');
console.count(); console.count(); console.count('x');
console.group('group');
console.log('indented');
console.groupEnd();
console.log('back');
console.log(new Error('in log').message);
JS
run_dv8 "$TMP/c.js"
expect_eq "status" "$STATUS" 0
expect_eq "stdout" "$OUT" "plain 1 true null undefined 5n
Bob is 42.5 years and 3 days, 1.5
json {\"a\":[1]} and [ 1, { b: 2 } ]
100% sure extra
{ nested: { deep: { deeper: [Object] } }, list: [ 1, 'two' ] }
Map(1) { 'k' => { v: 1 } } Set(1) { 'a' }
info line
debug line
default: 1
default: 2
x: 1
group
  indented
back
in log"
expect_eq "stderr" "$ERR" "error line { code: 'E1' }
warn line
Assertion failed: shown"

run_dv8 -e 'const e = new TypeError("bad"); e.code = "E_BAD"; console.error(e)'
expect_match "errors print their stack" "$ERR" "^TypeError: bad
    at "
expect_match "errors print extra properties" "$ERR" "code: 'E_BAD'"

# Output is not lost when the process exits right after writing.
run_dv8 -e 'for (let i = 0; i < 20000; i++) console.log("line " + i); dv8.exit(0)'
expect_eq "all lines written before exit" "$(printf '%s\n' "$OUT" | wc -l)" 20000
expect_eq "last line" "$(printf '%s\n' "$OUT" | tail -1)" "line 19999"
