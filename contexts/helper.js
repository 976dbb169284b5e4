// Helper processes: another dv8 running a module, isolated in its own
// process, with a message channel to it: serdes values in frames over a
// unix socket (the child's fd 3, named to it by DV8_CHANNEL_FD). The
// parent side is fork(); in the helper, `parent`. docs/processes.md.
//
// A builtin: the body of `function (binding) { ... }`, returning exports.
'use strict';

const { encodeInto, encode, decode, EFULL } = binding.loadNative('serdes');
const net = binding.loadNative('net');
const proc = binding.loadNative('process');
const ECLOSED = -30008; // DV8_ECLOSED: the other side is gone

// A frame: [length of the rest (u32 LE), messages received so far from the
// other side (u32 LE, wrapping), serdes bytes]; a frame with no bytes only
// acknowledges. Each side acknowledges what it took in, in the frames it
// sends anyway or, when it sent none, in one frame per batch received: so
// the sender knows which messages a helper that died had not taken.
const HEADER = 8;
const OUT_BYTES = 65536; // frames gather here until the job ends
const QUEUE_LIMIT = 1 << 20; // bytes waiting in the kernel's queue: past it, EFULL

class Channel {
  #id;
  #out = new Uint8Array(OUT_BYTES);
  #used = 0;
  #scheduled = false;
  #received = 0; // messages taken in, acknowledged to the other side
  #acked = 0; // how many of ours the other side says it took in
  #sent = 0;
  #ackDue = false;
  #in = new Uint8Array(65536);
  #pending = null; // a frame's start, kept across reads
  #closed = false;
  #full = false;
  #flushTask = () => { this.#scheduled = false; this.#flush(); };

  constructor(id, onMessage, onEnd, onDrain) {
    this.#id = id;
    net.setLowLatency(id, true); // replies come within microseconds
    this.onMessage = onMessage;
    this.onEnd = onEnd;
    this.onDrain = onDrain;
    net.onDrain(id, () => {
      if (!this.#full) return;
      this.#full = false;
      this.onDrain();
    });
  }

  get sent() { return this.#sent; }
  get acked() { return this.#acked; }
  get closed() { return this.#closed; }

  listen(on) {
    if (this.#closed) return;
    if (!on) { net.pause(this.#id); return; }
    if (this.#reading) { net.resume(this.#id); return; }
    this.#reading = true;
    net.readStart(this.#id, this.#in, (n) => this.#read(n));
  }

  #reading = false;

  send(value) {
    if (this.#closed) return ECLOSED;
    if (this.#full) return EFULL;
    let at = this.#used;
    if (OUT_BYTES - at < HEADER + 16) { this.#flush(); at = 0; }
    let n = encodeInto(value, this.#out, at + HEADER);
    if (n === EFULL && at > 0) {
      this.#flush();
      at = 0;
      n = encodeInto(value, this.#out, HEADER);
    }
    if (n === EFULL) { // bigger than the buffer: a frame of its own
      this.#flush();
      const bytes = encode(value);
      const frame = new Uint8Array(HEADER + bytes.length);
      frame.set(bytes, HEADER);
      this.#header(frame, 0, bytes.length);
      this.#write(frame, frame.length);
    } else {
      this.#header(this.#out, at, n);
      this.#used = at + HEADER + n;
      this.#schedule();
    }
    this.#sent++;
    return 0;
  }

  #header(buf, at, n) {
    const len = n + 4;
    buf[at] = len; buf[at + 1] = len >>> 8; buf[at + 2] = len >>> 16; buf[at + 3] = len >>> 24;
    const r = this.#received;
    buf[at + 4] = r; buf[at + 5] = r >>> 8; buf[at + 6] = r >>> 16; buf[at + 7] = r >>> 24;
    this.#ackDue = false;
  }

  #schedule() {
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushTask);
    }
  }

  #flush() {
    if (this.#ackDue && !this.#closed) {
      if (OUT_BYTES - this.#used < HEADER) this.#flush();
      this.#header(this.#out, this.#used, 0);
      this.#used += HEADER;
    }
    if (this.#used === 0 || this.#closed) return;
    const n = this.#used;
    this.#used = 0;
    this.#write(this.#out, n);
  }

  #write(buf, n) {
    // net.write copies what the kernel does not take at once.
    const rc = net.write(this.#id, buf, n);
    if (rc < 0) return this.#end(rc);
    if (rc === net.QUEUED && net.queued(this.#id) > QUEUE_LIMIT) this.#full = true;
  }

  #read(n) {
    if (n < 0) return this.#end(n);
    let buf = this.#in;
    let end = n;
    if (this.#pending !== null) { // a frame begun in an earlier read
      const joined = new Uint8Array(this.#pending.length + n);
      joined.set(this.#pending);
      joined.set(this.#in.subarray(0, n), this.#pending.length);
      buf = joined;
      end = joined.length;
      this.#pending = null;
    }
    let p = 0;
    let took = 0;
    while (end - p >= 4) {
      const len = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
      if (end - p - 4 < len) break;
      const ack = (buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16) | (buf[p + 7] << 24)) >>> 0;
      this.#acked = ack;
      if (len > 4) {
        const value = decode(buf, p + HEADER, p + 4 + len);
        this.#received = (this.#received + 1) >>> 0;
        took++;
        this.onMessage(value);
      }
      p += 4 + len;
    }
    if (p < end) this.#pending = buf.slice(p, end);
    if (took > 0) { // acknowledged with what goes out next, or on its own
      this.#ackDue = true;
      this.#schedule();
    }
  }

  #end(code) {
    if (this.#closed) return;
    this.#closed = true;
    net.close(this.#id);
    this.onEnd(code);
  }

  close() { this.#end(net.EOF); }
}

// Messages sent but not acknowledged: possibly lost with the helper.
const unacked = (ch) => ((ch.sent - ch.acked) >>> 0);

class Helper {
  #channel;
  #id;
  #pid;
  #exit = null; // { status, signal } once the process has exited
  #ended = false;
  #onMessage = null;

  constructor(spawned) {
    this.#id = spawned.id;
    this.#pid = spawned.pid;
    this.onExit = null; // (status, signal, lost) => {}
    this.onDrain = null;
    this.#channel = new Channel(net.open(spawned.channel),
      (value) => { if (this.#onMessage !== null) this.#onMessage(value); },
      () => this.#maybeEnd(),
      () => { if (this.onDrain !== null) this.onDrain(); });
    this.#channel.listen(true);
  }

  get pid() { return this.#pid; }
  get onMessage() { return this.#onMessage; }
  set onMessage(fn) {
    if (fn !== null && typeof fn !== 'function') throw new TypeError('onMessage must be a function or null');
    this.#onMessage = fn;
  }

  send(value) { return this.#channel.send(value); }
  kill(signal = 'SIGTERM') { return proc.kill(this.#id, signal); }

  exited(status, signal) {
    this.#exit = { status, signal };
    this.#maybeEnd();
  }

  // The end comes once both the process has exited and the channel has
  // closed (its last messages delivered first), in either order.
  #maybeEnd() {
    if (this.#ended || this.#exit === null) return;
    if (!this.#channel.closed) {
      // A helper that exited leaves a channel that ends by itself (EOF);
      // one whose grandchildren hold its socket open would not: close it.
      queueMicrotask(() => { if (!this.#channel.closed) this.#channel.close(); });
      return;
    }
    this.#ended = true;
    const lost = unacked(this.#channel);
    if (this.onExit !== null) this.onExit(this.#exit.status, this.#exit.signal, lost);
    else if (lost > 0 || this.#exit.status !== 0 || this.#exit.signal !== null)
      console.error(`helper ${this.#pid} ended (status ${this.#exit.status}, signal ${this.#exit.signal}), ${lost} messages not taken in`);
  }
}

// fork(modulePath, { args, stdio, env, cwd }): a new dv8 process running
// the module, with a channel to it.
function fork(path, options = {}) {
  if (typeof path !== 'string') throw new TypeError('fork: expected a module path');
  if (typeof options !== 'object' || options === null) throw new TypeError('fork: options must be an object');
  const args = options.args === undefined ? [] : options.args;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    throw new TypeError('fork: options.args must be an array of strings');
  let helper = null;
  const spawned = proc.spawn(binding.execPath, [path, ...args],
    { stdio: options.stdio ?? 'inherit', env: options.env, cwd: options.cwd, channel: true },
    (status, signal) => helper.exited(status, signal));
  if (typeof spawned === 'number') {
    const err = new Error(`fork: cannot start ${binding.execPath}: ${net.errname(spawned)}`);
    err.code = spawned;
    throw err;
  }
  for (let i = 0; i < 3; i++) if (spawned.stdio[i] >= 0) net.close(net.open(spawned.stdio[i]));
  helper = new Helper(spawned);
  return helper;
}

// In a helper: the way to the dv8 that started it (null otherwise).
// Setting onMessage keeps the helper alive to receive; null lets it end.
class Parent {
  #channel;
  #onMessage = null;

  constructor(fd) {
    this.onClose = null; // the parent is gone
    this.onDrain = null;
    this.#channel = new Channel(net.open(fd),
      (value) => { if (this.#onMessage !== null) this.#onMessage(value); },
      () => { if (this.onClose !== null) this.onClose(); },
      () => { if (this.onDrain !== null) this.onDrain(); });
  }

  get onMessage() { return this.#onMessage; }
  set onMessage(fn) {
    if (fn !== null && typeof fn !== 'function') throw new TypeError('onMessage must be a function or null');
    this.#onMessage = fn;
    this.#channel.listen(fn !== null);
  }

  send(value) { return this.#channel.send(value); }
}

const parent = binding.channelFd >= 0 ? new Parent(binding.channelFd) : null;

return { fork, parent, EFULL, ECLOSED };
