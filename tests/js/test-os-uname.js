// os.uname() describes this Linux kernel, and its machine agrees with the
// architecture dv8 was built for (os.arch).
import * as assert from './assert.js';
import * as os from 'os';

const u = os.uname();
assert.equal(u.sysname, 'Linux');
for (const k of ['nodename', 'release', 'version', 'machine']) {
  assert.equal(typeof u[k], 'string', k);
  assert.ok(u[k].length > 0, `${k} is empty`);
}
const machines = { x64: 'x86_64', arm64: 'aarch64' };
if (machines[os.arch] !== undefined) assert.equal(u.machine, machines[os.arch]);
