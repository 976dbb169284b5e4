// Run by tests/shell/test-serdes-c.sh: dv8's decoder's verdict on each file
// named (`PATH ok` or `PATH error: message`), the same form as the C
// walker's, with a transfer list of 8 buffers so that transfer references
// are judged on their shape, as the host judges them.
//   dv8 tests/serdes/verdicts.js FILE...
import * as fs from 'fs';
import { decode, SerdesError } from 'serdes';

const transfer = Array.from({ length: 8 }, () => new ArrayBuffer(64));
for (const path of dv8.args) {
  try {
    decode(fs.readFileSync(path), 0, undefined, { transfer });
    console.log(`${path} ok`);
  } catch (err) {
    if (!(err instanceof SerdesError)) throw err;
    console.log(`${path} error: ${JSON.stringify(err.message)}`);
  }
}
