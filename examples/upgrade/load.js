// Run: build/dv8 examples/upgrade/server.js 7000        (it prints its pid)
//      build/dv8 examples/upgrade/load.js 7000 [CONNECTIONS [SECONDS]]
//      and meanwhile, as often as you like: build/dv8 upgrade <pid>
//      (each new server process prints its own pid, for the next upgrade)
// Shows: upgrading the server under load costs its clients nothing.
// CONNECTIONS clients (net Sockets, 32 by default) each send a numbered
// line every 5 ms for SECONDS (10) and check every answer: their own lines
// back, in order, none missing. Each second it prints the answers per second and the
// server pids that answered; at the end one line with the totals (exit
// status 1 if a line was lost, came back out of order, or a connection
// dropped).
import * as net from 'net';

const [port, conns = 32, seconds = 10] = dv8.args.map(Number);
if (!Number.isInteger(port) || !(conns > 0) || !(seconds > 0)) {
  console.error('usage: load.js PORT [CONNECTIONS [SECONDS]]');
  dv8.exit(2);
}
const decoder = new TextDecoder();
const totals = { sent: 0, answered: 0, disorder: 0, dropped: 0 };
const pids = new Set();
let lastPid = 0;
let sending = true;
const clients = [];

function client(k) {
  const c = { k, sent: 0, answered: 0, partial: '', writable: false, open: true };
  c.socket = net.connect({ host: '127.0.0.1', port }, {
    open() { c.writable = true; },
    data(socket, bytes) {
      const lines = (c.partial + decoder.decode(bytes)).split('\n');
      c.partial = lines.pop();
      for (const line of lines) answer(c, line);
    },
    drain() { c.writable = true; },
    end() { drop(c, 'EOF'); },
    error(socket, err) { drop(c, err.code); },
  });
  clients.push(c);
}

// "#N from pid P: cK S": S must be the next line this client sent.
function answer(c, line) {
  const m = /^#\d+ from pid (\d+): c(\d+) (\d+)$/.exec(line);
  if (m === null || Number(m[2]) !== c.k || Number(m[3]) !== c.answered) totals.disorder++;
  c.answered++;
  totals.answered++;
  const pid = Number(m?.[1]);
  if (pid !== lastPid) {
    if (!pids.has(pid)) console.log(`pid ${pid} answering`);
    pids.add(pid);
    lastPid = pid;
  }
}

// code: 'EOF' (the server ended the connection, or this program does at
// the end) or an Error's code.
function drop(c, code) {
  if (!c.open) return;
  c.open = false;
  if (sending || code !== 'EOF') {
    totals.dropped++;
    console.error(`connection ${c.k}: ${code}`);
  }
  c.socket.close();
}

for (let k = 0; k < conns; k++) client(k);

const tick = setInterval(() => {
  for (const c of clients) {
    // Behind on answers or on writes: wait rather than queue without end.
    if (!c.open || !c.writable || c.sent - c.answered > 100) continue;
    const r = c.socket.write(`c${c.k} ${c.sent}\n`);
    if (r === 'full' || r === 'closed') continue; // not sent: tried again next tick
    if (r === 'queued') c.writable = false;
    c.sent++;
    totals.sent++;
  }
}, 5);

let before = 0;
const report = setInterval(() => {
  console.log(`${totals.answered - before} answers/s, ${totals.sent - totals.answered} in flight, pids ${[...pids].join(' ')}`);
  before = totals.answered;
}, 1000);

setTimeout(() => {
  clearInterval(tick);
  // The answers still in flight, for up to 2 s; then the totals.
  const started = Date.now();
  const finish = setInterval(() => {
    if (totals.answered < totals.sent && Date.now() - started < 2000) return;
    clearInterval(finish);
    clearInterval(report);
    sending = false;
    for (const c of clients) drop(c, 'EOF');
    const lost = totals.sent - totals.answered;
    console.log(
      `sent ${totals.sent}, answered ${totals.answered}, lost ${lost}, out of order ${totals.disorder}, ` +
        `connections dropped ${totals.dropped}, pids ${[...pids].join(' ')}`,
    );
    dv8.exit(lost > 0 || totals.disorder > 0 || totals.dropped > 0 ? 1 : 0);
  }, 20);
}, seconds * 1000);
