// The constants: platform, arch and EOL.
import * as assert from './assert.js';
import * as os from 'os';

assert.equal(os.platform, 'linux');
assert.ok(['x64', 'arm64', 'ia32', 'arm', 'riscv64', 'ppc64', 's390x', 'loong64',
  'mips64el'].includes(os.arch), `arch ${os.arch}`);
assert.equal(os.EOL, '\n');
