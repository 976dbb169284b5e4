// A program without unload() hands every handle that can cross to its next
// code as state.handles (ids; net.isServer tells servers from connections),
// and load() learns the old version as the value it was (a number here).
// The streams keep working under the new code: a message goes through the
// connection the old code opened. Checks run once the reload has
// committed (a throw inside load() would only refuse it); a guard timer
// fails the test if it stops early.
import * as assert from './assert.js';
import * as net from 'net';

export const version = 7;

export function load(state, fromVersion) {
  const guard = setTimeout(() => { throw new Error('the test stopped early'); }, 5000);
  if (state === undefined) {
    const server = net.listen('127.0.0.1', 0, 8, (conn) => {
      assert.ok(conn > 0);
      setTimeout(() => dv8.reload(), 10); // with both ends open
    });
    net.connect('127.0.0.1', net.address(server).port, () => {});
    return;
  }
  setTimeout(() => after(state, fromVersion, guard), 0);
}

function after(state, fromVersion, guard) {
  assert.equal(fromVersion, 7);
  assert.equal(state.handles.length, 3, 'the server and both ends of the connection');
  const servers = state.handles.filter((id) => net.isServer(id));
  const conns = state.handles.filter((id) => !net.isServer(id));
  assert.equal(servers.length, 1);
  assert.equal(conns.length, 2);
  // Whichever end is the client, a write from one arrives at the other;
  // neither end was ever read by the old code.
  const [a, b] = conns;
  const buf = new Uint8Array(64);
  let got = '';
  net.readStart(b, buf, (n) => {
    assert.ok(n > 0, `read: ${n}`);
    got += new TextDecoder().decode(buf.subarray(0, n));
    if (got !== 'across') return;
    console.log('ok: a stream the old code opened carried a message for the new code');
    for (const id of state.handles) net.close(id);
    clearTimeout(guard);
  });
  assert.ok(net.write(a, new TextEncoder().encode('across')) >= 0);
}
