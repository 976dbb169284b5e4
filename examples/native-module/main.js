// Run: cd examples/native-module && make && DV8_PATH=. ../../build/dv8 main.js
// Shows: a native module built outside dv8's tree (hello.so, found through
// DV8_PATH) imported like any other; a wrong argument type thrown as a
// TypeError by the host; and a JS callback kept by C and called later from a
// libuv timer, after the script's own code has finished.
import { greet, add, later } from 'hello';

console.log(greet('world'));
console.log(add(2, 3));
try {
  add('2', 3);
} catch (err) {
  console.log(`${err.name}: ${err.message}`);
}
later(10, () => console.log('called back after 10 ms'));
console.log('waiting for the timer');
