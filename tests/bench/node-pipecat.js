// node's pass-through peer for examples/pipecat.js: stdin to stdout, with
// the back-pressure that stream.pipe gives.
//   dd if=/dev/zero bs=65536 count=32768 | node tests/bench/node-pipecat.js | wc -c
// tests/bench/net-peers times it beside the C loop (pipecat.c) and dv8.
'use strict';
process.stdin.pipe(process.stdout);
