// fetch's pooled connections belong to the code that made them: after a
// reload the new code's fetch makes its own, and the old code's pooled
// one is closed at the commit (it would otherwise stay open, unread, for
// as long as the server kept it). The server (this program's own, carried
// across) sees that connection end; a fetch after the reload works.
import * as assert from './assert.js';
import * as http from 'http';

let server;
const handler = (req) => new http.Response(`hi ${req.target}`);

export async function load(state) {
  if (state === undefined) {
    server = http.serve({ port: 0 }, handler);
    const r = await http.fetch(`http://127.0.0.1:${server.port}/first`);
    assert.equal(await r.text(), 'hi /first');
    // A client and a server connection, and the listening socket.
    assert.equal(dv8.handles().filter((h) => h.type === 'stream').length, 3);
    dv8.reload();
    return;
  }
  server = state.server.reload(handler);
  setTimeout(async () => {
    // The client's pooled connection closed at the commit; the server's
    // side of it saw the end and closed too.
    assert.equal(dv8.handles().filter((h) => h.type === 'stream').length, 1, JSON.stringify(dv8.handles()));
    const r = await http.fetch(`http://127.0.0.1:${server.port}/second`);
    assert.equal(await r.text(), 'hi /second');
    console.log('ok');
    server.close();
  }, 50);
}

export function unload() {
  return { server };
}
