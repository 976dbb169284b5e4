// Helper processes: another dv8 running a module, isolated in its own
// process, with a message channel to it: serdes values in frames over a
// unix socket (the child's fd 3, named to it by DV8_CHANNEL_FD). The
// parent side is fork(); in the helper, `parent`. docs/processes.md.
//
// A builtin: the body of `function (binding) { ... }`, returning exports.
'use strict';

const { encodeInto, encode, decode, EFULL, HANDLE_ID, HANDLE_DATA, addHandleReviver } = binding.loadNative('serdes');
const net = binding.loadNative('net');
const proc = binding.loadNative('process');
const ECLOSED = -30008; // DV8_ECLOSED: the other side is gone

// A frame: [length of the rest (u32 LE), messages received so far from the
// other side (u32 LE, wrapping), serdes bytes]; a frame with no bytes only
// acknowledges. Each side acknowledges what it took in, in the frames it
// sends anyway or, when it sent none, in one frame per batch received: so
// the sender knows which messages a helper that died had not taken.
//
// What comes in is trusted no more than a socket's bytes: a length under
// the acknowledgement's 4 bytes, a message over the limit, an
// acknowledgement of messages never sent, or bytes that are not one serdes
// value close the channel with an error (onError), never an exception
// that would end the process; what was delivered before stays delivered.
const HEADER = 8;
const OUT_BYTES = 65536; // frames gather here until the job ends
const IN_BYTES = 65536; // the read buffer
const QUEUE_LIMIT = 1 << 20; // bytes waiting in the kernel's queue: past it, EFULL
// The largest message (its serdes bytes) by default: a 64 MiB buffer and
// more fits, what a lying header can make the receiver reserve is bounded
// (address space only: the pages are touched as bytes arrive). fork's
// maxMessage changes it for both sides, up to what the frame's 32-bit
// length holds.
const DEFAULT_MAX_MESSAGE = 256 * 1024 * 1024;
const MAX_MESSAGE_CEILING = 2 ** 32 - 16;

const u32 = (b, p) => (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;

// An Error with a code's name, as dv8's system errors are.
function channelError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

class Channel {
  #id;
  #name; // who is at the other end, for error messages
  #maxMessage;
  #encoding; // serdes options: the encoding stops at maxMessage
  #out = new Uint8Array(OUT_BYTES);
  #used = 0;
  #bigLast = false; // the last message did not fit #out (see #sendValue)
  #scheduled = false;
  #received = 0; // messages taken in, acknowledged to the other side
  #acked = 0; // how many of ours the other side says it took in
  #sent = 0;
  #ackDue = false;
  #in = new Uint8Array(IN_BYTES);
  #frame = null; // a frame begun in an earlier read, sized from its header
  #have = 0; // bytes of #frame filled
  #binAck = -1; // when #frame is a binary value's own buffer: its frame's acknowledgement
  #direct = false; // reads land straight in #frame (a big frame)
  #held = null; // bytes read after the listener paused
  #head = new Uint8Array(4); // a length field split across reads
  #headUsed = 0;
  #closed = false;
  #paused = false;
  #full = false;
  #reading = false;
  #flushTask = () => { this.#scheduled = false; this.#flush(); };
  #onRead = (n) => this.#read(n);

  // carried: what crossing() gave in the code before a reload, or
  // undefined for a new channel.
  constructor(id, name, maxMessage, onMessage, onEnd, onDrain, carried) {
    this.#id = id;
    if (carried !== undefined) this.#restore(carried);
    this.#name = name;
    this.#maxMessage = maxMessage;
    this.#encoding = { maxBytes: maxMessage };
    this.onMessage = onMessage;
    this.onEnd = onEnd; // (code, error): error when a bad frame closed it
    this.onDrain = onDrain;
    if (this.#closed) return; // closed in the code before a reload
    net.setLowLatency(id, true); // replies come within microseconds
    // The channel keeps its own bound (QUEUE_LIMIT, EFULL from send): a
    // frame, or an acknowledgement, once begun must never be refused by
    // the stream's, which would cut the stream mid-frame.
    net.setQueueLimit(id, Number.MAX_SAFE_INTEGER);
    net.onDrain(id, () => {
      if (!this.#full) return;
      this.#full = false;
      this.onDrain();
    });
  }

  // What a reload's new code needs to go on where this one stops (plain
  // data, beside the stream's handle reference): the counters the
  // acknowledgements are made of, and the frame half read. Frames this
  // side had gathered go out first, so nothing waits in #out, and no
  // bytes are held: reads are stopped during a reload, and each read was
  // parsed as it came. The old code goes on with the same fields if the
  // reload fails.
  crossing() {
    this.#flush();
    return {
      sent: this.#sent, acked: this.#acked, received: this.#received, full: this.#full,
      closed: this.#closed, head: this.#head.slice(0, this.#headUsed),
      frame: this.#frame, have: this.#have, binAck: this.#binAck, direct: this.#direct,
    };
  }

  #restore(c) {
    this.#sent = c.sent; this.#acked = c.acked; this.#received = c.received; this.#full = c.full;
    this.#closed = c.closed;
    this.#head.set(c.head); this.#headUsed = c.head.length;
    this.#frame = c.frame; this.#have = c.have; this.#binAck = c.binAck; this.#direct = c.direct;
  }

  get id() { return this.#id; }
  get sent() { return this.#sent; }
  get acked() { return this.#acked; }
  get closed() { return this.#closed; }

  listen(on) {
    if (this.#closed) return;
    this.#paused = !on;
    if (!on) { net.pause(this.#id); return; }
    if (this.#held !== null) queueMicrotask(() => this.#release());
    if (this.#reading) { net.resume(this.#id); return; }
    this.#reading = true;
    // A frame read straight into its buffer goes on there (after a reload).
    net.readStart(this.#id, this.#direct ? this.#frame.subarray(this.#have) : this.#in, this.#onRead);
  }

  // What arrived after the listener paused, for the next one (before any
  // read: reads come after microtasks).
  #release() {
    const held = this.#held;
    if (held === null || this.#paused || this.#closed) return;
    this.#held = null;
    this.#parse(held, 0, held.length);
  }

  // Reads go to buf from the next one on (readStart, which also resumes
  // reading: a channel paused meanwhile stays paused).
  #readInto(buf) {
    net.readStart(this.#id, buf, this.#onRead);
    if (this.#paused) net.pause(this.#id);
  }

  send(value) {
    if (this.#closed) return ECLOSED;
    if (this.#full) return EFULL;
    if (ArrayBuffer.isView(value) && value.constructor === Uint8Array && value.length >= 0x10000)
      this.#sendBin(value);
    else
      this.#sendValue(value);
    this.#sent++;
    return 0;
  }

  #sendValue(value) {
    let at = this.#used;
    if (OUT_BYTES - at < HEADER + 16) { this.#flush(); at = 0; }
    let n = EFULL;
    // After a message too big for the buffer, the next is encoded apart at
    // once: finding out that it does not fit either costs a throw through
    // the encoder's frames (a tenth of a 64 KiB round trip's time).
    if (!this.#bigLast) {
      try {
        n = encodeInto(value, this.#out, at + HEADER, this.#encoding);
      } catch (err) {
        throw this.#overLimit(err);
      }
    }
    if (n !== EFULL) {
      this.#checkSize(n);
      this.#header(this.#out, at, n);
      this.#used = at + HEADER + n;
      this.#schedule();
      return;
    }
    let bytes;
    try {
      bytes = encode(value, this.#encoding);
    } catch (err) {
      throw this.#overLimit(err);
    }
    this.#checkSize(bytes.length);
    this.#bigLast = bytes.length > OUT_BYTES / 2;
    this.#flush();
    if (bytes.length <= OUT_BYTES - HEADER) { // it did not fit behind the others
      this.#out.set(bytes, HEADER);
      this.#header(this.#out, 0, bytes.length);
      this.#used = HEADER + bytes.length;
      this.#schedule();
      return;
    }
    // Bigger than the buffer: a frame of its own, in two writes (the
    // header, then the bytes) rather than a copy of the bytes behind a
    // header: the stream keeps them in order.
    const head = new Uint8Array(HEADER);
    this.#header(head, 0, bytes.length);
    this.#write(head, HEADER);
    this.#write(bytes, bytes.length);
  }

  // A big Uint8Array: bin 32 (the bytes serdes would write) from its own
  // memory, without an encoded copy in between.
  #sendBin(value) {
    const size = value.length;
    this.#checkSize(size + 5);
    this.#flush();
    const head = new Uint8Array(HEADER + 5);
    this.#header(head, 0, size + 5);
    head[8] = 0xc6; head[9] = size >>> 24; head[10] = size >>> 16; head[11] = size >>> 8; head[12] = size;
    this.#write(head, head.length);
    this.#write(value, size);
  }

  // serdes stops an encoding at the channel's limit (as soon as it is
  // known, before a huge value is walked): said as a send past it is.
  #overLimit(err) {
    if (err === null || typeof err !== 'object' || err.limit === undefined) return err;
    const limit = `the channel's limit of ${err.limit} bytes (fork's maxMessage)`;
    const text = err.message
      .replace(/^value: the encoding's (\d+) bytes are past .*$/, `a message of $1 bytes is over ${limit}`)
      .replace(/takes the encoding past .*$/, `takes the message past ${limit}`)
      .replace(/the encoding passes .* here$/, `the message passes ${limit} here`);
    return channelError('EMSGSIZE', `send: ${text}`);
  }

  #checkSize(n) {
    if (n > this.#maxMessage)
      throw channelError('EMSGSIZE', `send: a message of ${n} bytes is over the channel's limit of ${this.#maxMessage} bytes (fork's maxMessage)`);
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

  // Reassembly is linear: a frame that does not fit in one read gets one
  // buffer of its size (from its header), filled once; past the read
  // buffer's size, reads land in it directly. A frame that is one binary
  // value (bin 32, what a big Uint8Array is) gets that value's own buffer
  // instead, delivered as it is: the bytes are copied once, by the kernel.
  #read(n) {
    if (n < 0) return this.#end(n);
    if (this.#direct) return this.#readDirect(n);
    let p = 0;
    if (this.#headUsed > 0) { // a length field begun in the last read
      while (this.#headUsed < 4 && p < n) this.#head[this.#headUsed++] = this.#in[p++];
      if (this.#headUsed < 4) return;
      this.#headUsed = 0;
      if (!this.#begin(this.#head, 0, 4)) return;
    }
    if (this.#frame !== null) { // a frame begun in an earlier read
      const frame = this.#frame;
      const take = Math.min(n - p, frame.length - this.#have);
      frame.set(this.#in.subarray(p, p + take), this.#have);
      this.#have += take;
      p += take;
      if (this.#have < frame.length) return this.#maybeDirect();
      if (!this.#complete()) return;
    }
    this.#parse(this.#in, p, n);
  }

  // Whole frames in buf from p to end, then the start of one. Once the
  // listener has paused (onMessage set to null), the rest waits for the
  // next one.
  #parse(buf, p, end) {
    while (p < end) {
      if (this.#paused) {
        this.#held = buf.slice(p, end);
        return;
      }
      if (end - p < 4) { // not even the length: kept for the next read
        while (p < end) this.#head[this.#headUsed++] = buf[p++];
        return;
      }
      const len = u32(buf, p);
      if (!this.#checkLength(len)) return;
      if (end - p - 4 < len) { // the start of a frame
        if (!this.#begin(buf, p, end - p)) return;
        return this.#maybeDirect();
      }
      if (!this.#take(buf, p, p + 4 + len)) return;
      p += 4 + len;
    }
  }

  // A frame of which n bytes (its length first) are at buf[p]: its
  // buffer, sized from the length. False if the length is refused.
  #begin(buf, p, n) {
    const len = u32(buf, p);
    if (!this.#checkLength(len)) return false;
    const BIN = HEADER + 5; // the frame's header, bin 32's own
    if (n >= BIN && buf[p + HEADER] === 0xc6) {
      const size = ((buf[p + 9] << 24) | (buf[p + 10] << 16) | (buf[p + 11] << 8) | buf[p + 12]) >>> 0;
      if (size + BIN === len + 4) {
        this.#binAck = u32(buf, p + 4);
        this.#frame = new Uint8Array(size);
        this.#frame.set(buf.subarray(p + BIN, p + n));
        this.#have = n - BIN;
        return true;
      }
    }
    this.#binAck = -1;
    this.#frame = new Uint8Array(4 + len);
    this.#frame.set(buf.subarray(p, p + n));
    this.#have = n;
    return true;
  }

  // What remains of the frame begun is more than the read buffer holds:
  // the next reads go straight into it.
  #maybeDirect() {
    if (this.#closed || this.#frame.length - this.#have <= IN_BYTES) return;
    this.#direct = true;
    this.#readInto(this.#frame.subarray(this.#have));
  }

  #readDirect(n) {
    this.#have += n;
    if (this.#have < this.#frame.length) return this.#readInto(this.#frame.subarray(this.#have));
    this.#direct = false;
    this.#readInto(this.#in);
    this.#complete();
  }

  // The frame begun in an earlier read is whole. False once the channel
  // has closed.
  #complete() {
    const frame = this.#frame;
    this.#frame = null;
    if (this.#binAck < 0) return this.#take(frame, 0, frame.length);
    return this.#acknowledge(this.#binAck) && this.#deliver(frame);
  }

  #checkLength(len) {
    if (len < 4)
      return this.#fail('EPROTO', `a frame of ${len} bytes, shorter than its 4-byte acknowledgement`);
    if (len - 4 > this.#maxMessage)
      return this.#fail('EMSGSIZE', `a message of ${len - 4} bytes, over the channel's limit of ${this.#maxMessage} bytes (fork's maxMessage)`);
    return true;
  }

  // The frame at buf[start..end): its acknowledgement, and its message
  // delivered. False once the channel has closed (a bad frame, or the
  // message's handler closed it).
  #take(buf, start, end) {
    if (!this.#acknowledge(u32(buf, start + 4))) return false;
    if (end - start === HEADER) return true;
    let value;
    try {
      value = decode(buf, start + HEADER, end);
    } catch (err) {
      // Again on the message alone: the error's offset is then its own.
      let why = err;
      try { decode(buf.subarray(start + HEADER, end)); } catch (again) { why = again; }
      return this.#fail('ESERDES', `message ${this.#received + 1} is not one serdes value: ${why.message}`);
    }
    return this.#deliver(value);
  }

  // The other side says it has taken in ack of our messages: never fewer
  // than it said before, never more than were sent.
  #acknowledge(ack) {
    if (((this.#sent - ack) >>> 0) > ((this.#sent - this.#acked) >>> 0))
      return this.#fail('EPROTO', `an acknowledgement of ${ack} messages (${this.#acked} before, ${this.#sent} sent)`);
    this.#acked = ack;
    return true;
  }

  #deliver(value) {
    this.#received = (this.#received + 1) >>> 0;
    // Acknowledged with what goes out next (a reply sent from onMessage
    // carries it), or on its own.
    this.#ackDue = true;
    this.#schedule();
    this.onMessage(value);
    return !this.#closed;
  }

  #fail(code, what) {
    this.#end(net.EOF, channelError(code, `channel from ${this.#name} closed: ${what}`));
    return false;
  }

  #end(code, error = null) {
    if (this.#closed) return;
    this.#closed = true;
    this.#frame = null;
    this.#held = null;
    this.#direct = false;
    net.close(this.#id);
    this.onEnd(code, error);
  }

  close() { this.#end(net.EOF); }
}

// Messages sent but not acknowledged: possibly lost with the helper.
const unacked = (ch) => ((ch.sent - ch.acked) >>> 0);

const INTERNAL = Symbol('helper.internal');

// Helpers of this context by channel id: one met twice in a reload's
// state is one object.
const live = new Map();

class Helper {
  #channel;
  #id;
  #pid;
  #maxMessage;
  #exit = null; // { status, signal } once the process has exited
  #ended = false;
  #error = null; // why the channel was closed, when a bad frame closed it
  #onMessage = null;

  // Made by fork (carried undefined: it starts reading at once), or by
  // the reviver from what a reload's old code carried (unbound until
  // reload(handlers)).
  constructor(token, id, pid, channelId, maxMessage, carried) {
    if (token !== INTERNAL) throw new TypeError('Helper: made by fork, not by new');
    this.#id = id;
    this.#pid = pid;
    this.#maxMessage = maxMessage;
    this.onExit = null; // (status, signal, lost, error) => {}
    this.onError = null; // (error) => {}: a bad frame closed the channel
    this.onDrain = null;
    if (carried !== undefined) {
      this.#exit = carried.exit;
      this.#error = carried.error;
    }
    this.#channel = new Channel(channelId, `helper ${pid}`, maxMessage,
      (value) => { if (this.#onMessage !== null) this.#onMessage(value); },
      (code, error) => { if (error !== null) this.#failed(error); this.#maybeEnd(); },
      () => { if (this.onDrain !== null) this.onDrain(); }, carried?.channel);
    live.set(channelId, this);
    if (carried === undefined) this.#channel.listen(true);
  }

  // Crossing a reload: the Helper is its channel stream's handle reference
  // with, as plain data beside it (serdes' HANDLE_DATA), its child's id and
  // the JS state that is the channel: the acknowledgement counters and a
  // frame half read (its bytes, a buffer that crosses as buffers do). That
  // state lives in this context's JS alone, and the state is the one thing
  // that goes from the old code to the new, so it goes there, rather than
  // into C that would then have to parse frames. One that has ended
  // cannot cross (-1: serdes says so).
  get [HANDLE_ID]() { return this.#ended ? -1 : this.#channel.id; }
  get [HANDLE_DATA]() {
    return {
      kind: 'helper',
      data: {
        child: this.#id, pid: this.#pid, maxMessage: this.#maxMessage,
        exit: this.#exit, error: this.#error, channel: this.#channel.crossing(),
      },
    };
  }

  // Binds the helper to handlers ({ onMessage, onExit, onError, onDrain },
  // as the properties): in a reload's load(), a Helper that came in the
  // state, which then reads on (what came meanwhile waits in the socket);
  // elsewhere, to set them at once. Throws once it has ended.
  reload(handlers) {
    if (typeof handlers !== 'object' || handlers === null)
      throw new TypeError('Helper.reload: handlers must be an object ({ onMessage, onExit, onError, onDrain })');
    for (const name of ['onMessage', 'onExit', 'onError', 'onDrain'])
      if (handlers[name] !== undefined && handlers[name] !== null && typeof handlers[name] !== 'function')
        throw new TypeError(`Helper.reload: handlers.${name} must be a function`);
    if (this.#ended) throw new Error(`Helper.reload: helper ${this.#pid} has ended`);
    if (this.#exit === null) {
      const rc = proc.onExit(this.#id, (status, signal) => this.exited(status, signal));
      if (rc < 0) throw new Error(`Helper.reload: helper ${this.#pid}: ${net.errname(rc)}`);
    }
    this.onMessage = handlers.onMessage ?? null;
    this.onExit = handlers.onExit ?? null;
    this.onError = handlers.onError ?? null;
    this.onDrain = handlers.onDrain ?? null;
    this.#channel.listen(true);
    this.#maybeEnd();
    return this;
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

  // The helper sent what the channel refuses: said at once (the process
  // itself is left to end as it will; onExit still comes).
  #failed(error) {
    this.#error = error;
    if (this.onError !== null) this.onError(error);
    else console.error(`dv8: ${error.message}`);
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
    live.delete(this.#channel.id);
    const lost = unacked(this.#channel);
    if (lost > 0) binding.metricAdd('dv8_helper_messages_lost_total', 'Messages sent to helper processes that ended before taking them in.', lost);
    if (this.onExit !== null) this.onExit(this.#exit.status, this.#exit.signal, lost, this.#error);
    else if (lost > 0 || this.#exit.status !== 0 || this.#exit.signal !== null)
      console.error(`helper ${this.#pid} ended (status ${this.#exit.status}, signal ${this.#exit.signal}), ${lost} messages not taken in`);
  }
}

// fork(modulePath, { args, stdio, env, cwd, maxMessage }): a new dv8
// process running the module, with a channel to it.
function fork(path, options = {}) {
  if (typeof path !== 'string') throw new TypeError('fork: expected a module path');
  if (typeof options !== 'object' || options === null) throw new TypeError('fork: options must be an object');
  const args = options.args === undefined ? [] : options.args;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    throw new TypeError('fork: options.args must be an array of strings');
  const maxMessage = options.maxMessage === undefined ? DEFAULT_MAX_MESSAGE : options.maxMessage;
  if (!Number.isInteger(maxMessage) || maxMessage < 1 || maxMessage > MAX_MESSAGE_CEILING)
    throw new RangeError(`fork: options.maxMessage must be an integer from 1 to ${MAX_MESSAGE_CEILING} (bytes)`);
  let helper = null;
  const spawned = proc.spawn(binding.execPath, [path, ...args],
    { stdio: options.stdio ?? 'inherit', env: options.env, cwd: options.cwd, channel: maxMessage },
    (status, signal) => helper.exited(status, signal));
  if (typeof spawned === 'number') {
    const err = new Error(`fork: cannot start ${binding.execPath}: ${net.errname(spawned)}`);
    err.code = spawned;
    throw err;
  }
  for (let i = 0; i < 3; i++) if (spawned.stdio[i] >= 0) net.close(net.open(spawned.stdio[i]));
  helper = new Helper(INTERNAL, spawned.id, spawned.pid, net.open(spawned.channel), maxMessage);
  return helper;
}

// A Helper in a reload's state: made again from what the old code's one
// carried (one per channel), bound to nothing until reload(handlers).
addHandleReviver((id, data) => {
  const known = live.get(id);
  if (known !== undefined) return known;
  if (typeof data !== 'object' || data === null || typeof data.channel !== 'object') return undefined;
  return new Helper(INTERNAL, data.child, data.pid, id, data.maxMessage, data);
}, 'helper');

// In a helper: the way to the dv8 that started it (null otherwise).
// Setting onMessage keeps the helper alive to receive; null lets it end.
// Bytes from the parent that the channel refuses close it as the
// parent's end would (onClose), after onError (or a line on stderr): the
// helper goes on with whatever else it does.
class Parent {
  #channel;
  #onMessage = null;

  constructor(fd, maxMessage) {
    this.onClose = null; // the parent is gone
    this.onError = null; // (error) => {}: a bad frame closed the channel
    this.onDrain = null;
    this.#channel = new Channel(net.open(fd), 'the parent', maxMessage,
      (value) => { if (this.#onMessage !== null) this.#onMessage(value); },
      (code, error) => {
        if (error !== null) {
          if (this.onError !== null) this.onError(error);
          else console.error(`dv8: ${error.message}`);
        }
        if (this.onClose !== null) this.onClose();
      },
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

const parent = binding.channelFd >= 0
  ? new Parent(binding.channelFd, binding.channelMaxMessage > 0
    ? Math.min(binding.channelMaxMessage, MAX_MESSAGE_CEILING) : DEFAULT_MAX_MESSAGE)
  : null;

return { fork, parent, EFULL, ECLOSED };
