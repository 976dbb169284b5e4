// A connect still in flight when the code is replaced reports to the new
// code (net.onConnect binds it there), whether it completes or times out;
// the old code's callbacks never run again. A paused server with a full
// accept queue keeps the connects pending: the kernel drops their SYNs
// until the new code resumes the server, and the clients' SYN retry (1 s)
// then gets through; the connect with a 400 ms timeout ends first, with
// ETIMEDOUT, from the timer the old code armed.
import * as assert from './assert.js';
import * as net from 'net';

let guard;

export function load(state) {
  guard = setTimeout(() => { throw new Error('the test stopped early'); }, 8000);
  if (state === undefined) return start();
  setTimeout(() => after(state), 0);
}

export function unload() {
  clearTimeout(guard);
  return globalThis.carried;
}

function start() {
  const server = net.listen('127.0.0.1', 0, 1, () => {});
  net.pause(server); // nothing accepted: the queue fills
  const port = net.address(server).port;
  let ready = 0;
  // libuv takes one in and holds it; the kernel queues backlog + 1.
  for (let i = 0; i < 3; i++) {
    net.connect('127.0.0.1', port, (status) => {
      assert.equal(status, 0, 'a filler connects');
      if (++ready === 3) setTimeout(connectPending, 50);
    });
  }
  function connectPending() {
    const never = (status) => { throw new Error(`the old code heard ${status}`); };
    const done = net.connect('127.0.0.1', port, never);
    const late = net.connect('127.0.0.1', port, never, 400);
    assert.ok(done > 0 && late > 0);
    globalThis.carried = { server, done, late };
    setTimeout(() => dv8.reload(), 100);
  }
}

function after({ server, done, late }) {
  const heard = {};
  const check = () => {
    if (!('done' in heard) || !('late' in heard)) return;
    assert.equal(heard.late, net.ETIMEDOUT, 'the timed-out connect');
    assert.equal(heard.done, 0, 'the connect that got through');
    clearTimeout(guard);
    net.close(server);
    net.close(done);
    console.log('ok: both outcomes reached the new code');
  };
  assert.equal(net.onConnect(done, (s) => { heard.done = s; check(); }), 0);
  assert.equal(net.onConnect(late, (s) => { heard.late = s; check(); }), 0);
  // What is queued comes in (and goes), and room is made for the SYNs.
  net.onConnection(server, (c) => { if (c > 0) net.close(c); });
  net.resume(server);
}
