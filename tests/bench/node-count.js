// node's stdin counting peer for examples/count.js: counts the bytes that
// arrive on process.stdin and prints the count.
//   dd if=/dev/zero bs=65536 count=32768 | node tests/bench/node-count.js
// tests/bench/net-peers runs it beside the C loop (count.c) and dv8.
'use strict';
let total = 0;
process.stdin.on('data', (chunk) => {
  total += chunk.length;
});
process.stdin.on('end', () => {
  console.log(total);
});
