// atob and btoa follow the HTML standard: forgiving base64 in, Latin-1
// strings only out, InvalidCharacterError DOMExceptions for what is refused.
import * as assert from './assert.js';

assert.equal(btoa(''), '');
assert.equal(btoa('f'), 'Zg==');
assert.equal(btoa('fo'), 'Zm8=');
assert.equal(btoa('foo'), 'Zm9v');
assert.equal(btoa('\xff\xfe\x00'), '//4A');
assert.equal(btoa(12), 'MTI=');
assert.equal(atob('Zm9v'), 'foo');
assert.equal(atob('Zg'), 'f');
assert.equal(atob('Zg=='), 'f');
assert.equal(atob(' Zm\n9v\t'), 'foo');
assert.equal(atob('//4A'), '\xff\xfe\x00');
assert.equal(atob(''), '');

// Every byte value survives a round trip.
let all = '';
for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
assert.equal(atob(btoa(all)), all);

for (const bad of ['a', 'Zg=', 'Zm9v=', 'Z===', 'Zm9v!', 'Zé==', '=Zg=']) {
  const err = assert.throws(() => atob(bad), DOMException, `atob(${JSON.stringify(bad)})`);
  assert.equal(err.name, 'InvalidCharacterError');
  assert.equal(err.code, 5);
  assert.equal(err.message, 'The string to be decoded is not correctly encoded.');
  assert.ok(err instanceof Error);
}
const err = assert.throws(() => btoa('\u0100'), DOMException);
assert.equal(err.name, 'InvalidCharacterError');
assert.equal(err.message, 'Invalid character');
assert.throws(() => atob(), TypeError);
assert.throws(() => btoa(), TypeError);

// DOMException itself.
const e = new DOMException('gone', 'NotFoundError');
assert.equal(e.name, 'NotFoundError');
assert.equal(e.code, 8);
assert.equal(DOMException.NOT_FOUND_ERR, 8);
assert.equal(new DOMException('x').name, 'Error');
assert.equal(new DOMException('x', 'Custom').code, 0);
assert.equal(dv8.inspect(e).split('\n')[0], 'DOMException [NotFoundError]: gone');
