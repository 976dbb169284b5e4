// spawn and exec refuse a NUL inside the file name, an argument, an
// environment entry or the working directory with EINVAL, as fs refuses
// such a path, and start nothing. Cut at the NUL, each would have run
// something other than what was asked ('/bin/sh\0-evil' runs /bin/sh,
// 'exit 0\0; exit 9' exits 0). Wrong types still throw first.
import * as assert from './assert.js';
import * as proc from 'process';
import * as fs from 'fs';

assert.equal(proc.EINVAL, -22);
const never = () => assert.ok(false, 'a refused spawn called back');
const trace = `/tmp/dv8-test-process-nul-${dv8.pid}`;
const cases = [
  ['file', '/bin/sh\0-not-this', ['-c', `echo ran > ${trace}`], {}],
  ['argument', '/bin/sh', ['-c', `echo ran > ${trace}\0; exit 9`], {}],
  ['environment entry', '/bin/sh', ['-c', `echo ran > ${trace}`], { env: ['PATH=/bin\0:/tmp/evil'] }],
  ['working directory', '/bin/sh', ['-c', `echo ran > ${trace}`], { cwd: '/tmp\0/elsewhere' }],
];
for (const [what, file, args, options] of cases) {
  assert.equal(proc.spawn(file, args, { stdio: 'ignore', ...options }, never), proc.EINVAL, `spawn: a NUL in the ${what}`);
  assert.equal(proc.exec(file, args, options, never), proc.EINVAL, `exec: a NUL in the ${what}`);
}

// Types are checked before: a non-string still throws a TypeError.
assert.throws(() => proc.spawn('/bin/sh\0x', [1], {}, never), TypeError);
assert.throws(() => proc.exec('/bin/sh', ['a\0b'], { cwd: 7 }, never), TypeError);

// Nothing ran (give a wrongly started child time to write its trace).
await new Promise((resolve) => setTimeout(resolve, 200));
assert.equal(fs.existsSync(trace), false, 'a child ran');

// The same calls without the NUL run.
const status = await new Promise((resolve) => {
  const id = proc.exec('/bin/sh', ['-c', 'exit 0; exit 9'], { env: ['PATH=/bin'], cwd: '/tmp' },
    (code) => resolve(code));
  assert.ok(id > 0);
});
assert.equal(status, 0);
