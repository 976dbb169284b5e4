// Process-level handoff (docs/processes.md, "Upgrade"): a running dv8
// starts a new dv8 process of the same program, hands it every listening
// socket and connection (their descriptors, with SCM_RIGHTS) and its
// state (serdes bytes); once the new process has taken over, the old one
// only sends what it had queued, and exits. If the new process fails to
// start or to load, the old one goes on.
//
// The old side, in order: start the new process with a unix socket on its
// fd 3 (DV8_UPGRADE_FD); wait for it to say it has loaded the code ('R');
// pause timers and streams (reads stop, servers stop accepting: the kernel
// keeps what comes, in each socket's buffer or accept queue); capture the
// state (unload()); send the header, the descriptors, which connections
// still have writes queued here, and the state; wait for 'K' (taken over)
// or 'F' (failed, with why). After 'K' each connection's queue goes out
// and is reported ('W'); the new process holds its own writes to such a
// connection until then, so no byte is written out of order. The new
// side (dv8__run_upgraded) does the reverse, before its loop starts:
// handles get the ids they had, so the state's handle ids mean the same
// in the new code.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "contexts/internal.h"

extern char **environ;

using v8::Local;
using v8::Value;

unsigned dv8__flush_deadline_ms = 60000;

namespace {

constexpr uint32_t kMagic = 0x75387664; // "dv8u"
constexpr int kFdsPerMessage = 250;     // under the kernel's SCM_MAX_FD

void Put32(std::vector<uint8_t> *out, uint32_t v) {
  for (int i = 0; i < 4; i++)
    out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint32_t Get32(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// Exactly n descriptors, appended.
bool RecvFds(int fd, size_t n, std::vector<int> *out) {
  size_t at = out->size();
  out->resize(at + n);
  if (dv8__recv_fds(fd, n, out->data() + at) == 0)
    return true;
  out->resize(at);
  return false;
}

struct Upgrade {
  dv8_runtime_t *rt = nullptr;
  int fd = -1; // our end of the socket to the new process
  uv_poll_t poll;
  uv_process_t child;
  uv_timer_t drain;
  int handles_open = 0;   // poll, child, drain: freed once all are closed
  bool sent = false;      // the descriptors went: wait for 'K' or 'F'
  bool took_over = false; // 'K' came: only flushing is left
  bool finished = false;
  bool paused = false;
  std::vector<dv8_handle_t *> timers, streams;
  std::vector<dv8_handle_t *> unflushed; // writes still queued when sent
  std::vector<uint8_t> state, version;
  std::vector<int> copies; // of pending connections, closed at the end
  std::string reply;       // 'F' and its reason, as it comes
  uint64_t drain_until = 0;
  void (*done)(void *, int, const char *) = nullptr;
  void *done_arg = nullptr;
};

Upgrade *current; // one at a time, on the main thread

void OnClosed(uv_handle_t *h) {
  auto *u = static_cast<Upgrade *>(h->data);
  if (--u->handles_open == 0)
    delete u;
}

// Closes what the upgrade itself holds (its socket, the new process's
// handle, its timer, copies of pending connections); u is freed once
// libuv is done with them.
void CloseUpgrade(Upgrade *u) {
  uv_close(reinterpret_cast<uv_handle_t *>(&u->poll), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t *>(&u->drain), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t *>(&u->child), OnClosed);
  close(u->fd);
  for (int c : u->copies)
    close(c);
}

// The end, either way: the caller hears; on failure the old code resumes.
void Finish(Upgrade *u, int status, const std::string &text) {
  if (u->finished)
    return;
  u->finished = true;
  current = nullptr;
  if (u->paused && status != 0) {
    for (dv8_handle_t *h : u->timers)
      h->type->resume(h);
    for (dv8_handle_t *h : u->streams)
      h->type->resume(h);
  }
  if (status != 0)
    fprintf(stderr, "dv8: upgrade failed, this process goes on: %s\n",
            text.c_str());
  if (u->done != nullptr)
    u->done(u->done_arg, status, text.c_str());
  CloseUpgrade(u);
  if (status == 0) {
    // The new process has every socket and ours are flushed: they close
    // (the connections stay up, held by its descriptors); this one ends.
    for (dv8_handle_t *h : u->streams)
      dv8__handle_close(h);
    dv8__runtime_stop(u->rt, 0);
  }
}

void Fail(Upgrade *u, const std::string &why) {
  if (!u->sent) // the new process waits for what will not come
    uv_process_kill(&u->child, SIGTERM);
  Finish(u, 1, why);
}

// Header, descriptors, then the handles' ids and the state.
void Send(Upgrade *u) {
  std::vector<int> fds;
  std::vector<uint8_t> head, body;
  for (dv8_handle_t *h : u->streams) {
    int fd;
    int err =
        h->type->export_fd != nullptr ? h->type->export_fd(h, &fd) : UV_ENOTSUP;
    if (err == UV_ENOTSUP) {
      // A listening socket: net will not export it for a thread, but a
      // process takes the descriptor as it is.
      err = uv_fileno(h->uv, &fd);
    }
    if (err)
      return Fail(u, std::string("a stream's descriptor: ") + uv_strerror(err));
    fds.push_back(fd);
    Put32(&body, h->id);
  }
  // A connection libuv accepted for a paused server (it holds one, and
  // would close it with this process): a copy goes, for the new server.
  std::vector<uint32_t> pending_of;
  for (size_t i = 0; i < u->streams.size(); i++) {
    auto *st = reinterpret_cast<uv_stream_t *>(u->streams[i]->uv);
    if (st->accepted_fd < 0)
      continue;
    int copy = fcntl(st->accepted_fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
      return Fail(u, std::string("a pending connection: ") + strerror(errno));
    u->copies.push_back(copy);
    pending_of.push_back(static_cast<uint32_t>(i));
  }
  size_t handles = fds.size();
  // Which connections still have writes of ours to go out: the new process
  // holds its writes to them until we say they are flushed ('W').
  std::vector<uint8_t> unflushed;
  u->unflushed.clear();
  for (dv8_handle_t *h : u->streams) {
    bool queued = uv_stream_get_write_queue_size(
                      reinterpret_cast<uv_stream_t *>(h->uv)) > 0;
    unflushed.push_back(queued);
    if (queued)
      u->unflushed.push_back(h);
  }
  fds.insert(fds.end(), u->copies.begin(), u->copies.end());
  for (uint32_t k : pending_of)
    Put32(&body, k);
  body.insert(body.end(), unflushed.begin(), unflushed.end());
  Put32(&head, kMagic);
  Put32(&head, static_cast<uint32_t>(handles));
  Put32(&head, static_cast<uint32_t>(pending_of.size()));
  Put32(&head, static_cast<uint32_t>(u->state.size()));
  Put32(&head, static_cast<uint32_t>(u->version.size()));
  body.insert(body.end(), u->state.begin(), u->state.end());
  body.insert(body.end(), u->version.begin(), u->version.end());
  bool ok = dv8__send_all(u->fd, head.data(), head.size());
  for (size_t i = 0; ok && i < fds.size(); i += kFdsPerMessage)
    ok = dv8__send_fds(
        u->fd, fds.data() + i,
        std::min(fds.size() - i, static_cast<size_t>(kFdsPerMessage)));
  ok = ok && dv8__send_all(u->fd, body.data(), body.size());
  if (!ok)
    return Fail(u,
                std::string("the new process went away: ") + strerror(errno));
  u->sent = true;
}

// Paused servers still let libuv accept one connection each (it holds it
// until asked for it): one accepted while the new process loaded goes to
// it now, before this process closes its copy (which would reset it).
void SendLate(Upgrade *u) {
  for (size_t i = 0; i < u->streams.size(); i++) {
    auto *st = reinterpret_cast<uv_stream_t *>(u->streams[i]->uv);
    if (st->accepted_fd < 0)
      continue;
    std::vector<uint8_t> rec = {'L'};
    Put32(&rec, static_cast<uint32_t>(i));
    if (!dv8__send_all(u->fd, rec.data(), rec.size()) ||
        !dv8__send_fds(u->fd, &st->accepted_fd, 1))
      return;
  }
}

// After the takeover this process only sends what it had queued. Each
// connection whose queue has emptied is closed here and announced ('W',
// its id): the new process then lets its own writes to it go. A peer that
// has not taken it all by the flush deadline loses that connection: it is
// shut down both ways (the socket is shared, so the new process sees the
// end too) rather than go on with bytes missing in the middle.
void OnFlushTick(uv_timer_t *t) {
  auto *u = static_cast<Upgrade *>(t->data);
  bool late = uv_now(&u->rt->loop) > u->drain_until;
  std::vector<dv8_handle_t *> left;
  for (dv8_handle_t *h : u->streams) {
    size_t q =
        uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t *>(h->uv));
    if (q > 0 && !late) {
      left.push_back(h);
      continue;
    }
    uv_os_fd_t fd;
    if (q > 0 && uv_fileno(h->uv, &fd) == 0) {
      shutdown(fd, SHUT_RDWR);
      fprintf(stderr,
              "dv8: upgraded: %zu bytes queued for handle %u did not go out "
              "within %u ms (--flush-deadline): that connection is ended\n",
              q, h->id, dv8__flush_deadline_ms);
    }
    std::vector<uint8_t> rec = {'W'};
    Put32(&rec, h->id);
    dv8__send_all(u->fd, rec.data(), rec.size()); // the new process may be gone
    dv8__handle_close(h);
  }
  u->streams.swap(left);
  if (!u->streams.empty()) {
    uv_timer_start(&u->drain, OnFlushTick, 5, 0);
    return;
  }
  Finish(u, 0, "");
}

// 'K': the new process has taken over, and the caller hears so now. No JS
// runs here again (nor a reload: stopping); servers and connections with
// nothing queued close at once, the rest once flushed.
void TakenOver(Upgrade *u) {
  SendLate(u);
  dv8__send_all(u->fd, "E", 1);
  u->took_over = true;
  std::string text = "pid " + std::to_string(u->child.pid) + " took over";
  fprintf(stderr, "dv8: upgraded: %s; %zu connections still to flush here\n",
          text.c_str(), u->unflushed.size());
  if (u->done != nullptr)
    u->done(u->done_arg, 0, text.c_str());
  u->done = nullptr;
  uv_poll_stop(&u->poll);
  dv8__control_stop();
  u->rt->stopping = 1;
  for (dv8_handle_t *h : u->streams)
    if (std::find(u->unflushed.begin(), u->unflushed.end(), h) ==
        u->unflushed.end())
      dv8__handle_close(h);
  u->streams = u->unflushed;
  u->drain_until = uv_now(&u->rt->loop) + dv8__flush_deadline_ms;
  OnFlushTick(&u->drain);
}

// The handles that go (streams) or stay behind paused (timers), as they
// are now: taken again when the new process is ready, as handles come and
// go meanwhile. Why not, if one cannot go.
std::string Collect(Upgrade *u) {
  u->timers.clear();
  u->streams.clear();
  dv8_handle_table_t *t = &u->rt->handles;
  for (uint32_t i = 0; i < t->used; i++) {
    dv8_handle_t *h = t->slots[i];
    if (h == nullptr || (h->flags & DV8_HANDLE_CLOSING) != 0)
      continue;
    if (strcmp(h->type->name, "timer") == 0)
      u->timers.push_back(h);
    else if (strcmp(h->type->name, "stream") == 0)
      u->streams.push_back(h);
    else
      return std::string("a ") + h->type->name + " (handle " +
             std::to_string(h->id) +
             ") cannot move to another process: an upgrade carries net "
             "streams (and clears timers), so far";
  }
  return "";
}

// The new process has loaded the code: pause, capture, drain, send.
void Begin(Upgrade *u) {
  std::string why = Collect(u);
  if (!why.empty())
    return Fail(u, why);
  for (dv8_handle_t *h : u->timers)
    h->type->pause(h);
  for (dv8_handle_t *h : u->streams)
    h->type->pause(h);
  u->paused = true;
  std::string error;
  if (!dv8::CaptureForHandoff(u->rt, u->streams, &u->state, &u->version,
                              &error))
    return Fail(u, error);
  Send(u);
}

void OnReadable(uv_poll_t *p, int status, int events) {
  (void)events;
  auto *u = static_cast<Upgrade *>(p->data);
  if (u->finished || u->took_over)
    return;
  char buf[512];
  ssize_t n = status < 0 ? -1 : recv(u->fd, buf, sizeof(buf), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    if (!u->reply.empty())
      return Fail(u, u->reply.substr(1));
    return Fail(u, "the new process went away before taking over");
  }
  for (ssize_t i = 0; i < n; i++) {
    if (!u->reply.empty()) { // 'F' and its reason, to the end
      u->reply.push_back(buf[i]);
    } else if (buf[i] == 'R') {
      Begin(u);
      if (u->finished)
        return;
    } else if (buf[i] == 'K' && u->sent) {
      return TakenOver(u);
    } else if (buf[i] == 'F') {
      u->reply = "F";
    }
  }
}

void OnChildExit(uv_process_t *p, int64_t status, int signal) {
  auto *u = static_cast<Upgrade *>(p->data);
  if (u->finished || u->took_over)
    return;
  // Its last words ('F' and why) may still be unread: read them first.
  OnReadable(&u->poll, 0, UV_READABLE);
  if (u->finished)
    return;
  Fail(u, "the new process ended (status " + std::to_string(status) +
              ", signal " + std::to_string(signal) + ") before taking over");
}

void OnUsr2(uv_signal_t *s, int signum) {
  auto *rt = static_cast<dv8_runtime_t *>(s->data);
  if (!dv8__signal_handled(rt, signum))
    dv8__upgrade(rt, nullptr, nullptr);
}

uv_signal_t usr2;

// The new process's side while the process before flushes: connections
// whose writes are held, released as it reports each flushed ('W'). Should
// it end first (killed), what it had queued is lost: those connections are
// ended rather than continued with bytes missing.
struct Flushing {
  dv8_runtime_t *rt;
  int fd;
  uv_poll_t poll;
  std::vector<uint8_t> buf;
  std::vector<uint32_t> held; // handle ids
};

Flushing *flushing; // at most one: a new upgrade waits for it to end

void OnFlushingClosed(uv_handle_t *h) {
  auto *f = static_cast<Flushing *>(h->data);
  close(f->fd);
  delete f;
}

// net.holdWrites(id, false) in the current context (a reload may have
// replaced the one the upgrade started in).
void ReleaseWrites(dv8_runtime_t *rt, uint32_t id) {
  dv8_env_t *env = rt->env;
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  v8::TryCatch try_catch(isolate); // a stream closed meanwhile: nothing
  Local<v8::Object> net;
  Local<Value> hold;
  Local<Value> argv[] = {v8::Number::New(isolate, id), v8::False(isolate)};
  if (dv8::NativeExports(env, "net").ToLocal(&net) &&
      net->Get(context, dv8::Str(isolate, "holdWrites")).ToLocal(&hold) &&
      hold->IsFunction())
    hold.As<v8::Function>()->Call(context, net, 2, argv).IsEmpty();
}

void OnFlushed(uv_poll_t *p, int status, int events) {
  (void)events;
  auto *f = static_cast<Flushing *>(p->data);
  uint8_t chunk[256];
  ssize_t got = -1;
  if (status >= 0) {
    got = recv(f->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
      return;
  }
  if (got > 0)
    f->buf.insert(f->buf.end(), chunk, chunk + got);
  size_t used = 0;
  for (; f->buf.size() - used >= 5 && f->buf[used] == 'W'; used += 5) {
    uint32_t id = Get32(f->buf.data() + used + 1);
    auto it = std::find(f->held.begin(), f->held.end(), id);
    if (it == f->held.end())
      continue;
    f->held.erase(it);
    ReleaseWrites(f->rt, id);
  }
  f->buf.erase(f->buf.begin(), f->buf.begin() + static_cast<long>(used));
  if (got > 0 && !f->held.empty())
    return;
  for (uint32_t id : f->held) {
    dv8_handle_t *h = dv8__handles_find(&f->rt->handles, id);
    uv_os_fd_t fd;
    if (h == nullptr || uv_fileno(h->uv, &fd) != 0)
      continue;
    shutdown(fd, SHUT_RDWR);
    fprintf(stderr,
            "dv8: the process before ended with writes to handle %u still "
            "queued: that connection is ended\n",
            id);
    ReleaseWrites(f->rt, id);
  }
  flushing = nullptr;
  uv_close(reinterpret_cast<uv_handle_t *>(&f->poll), OnFlushingClosed);
}

} // namespace

extern "C" int dv8__upgrade(dv8_runtime_t *rt,
                            void (*done)(void *, int, const char *),
                            void *arg) {
  auto refuse = [&](const std::string &why) {
    fprintf(stderr, "dv8: upgrade refused: %s\n", why.c_str());
    if (done != nullptr)
      done(arg, 1, why.c_str());
    return DV8_EEXCEPTION;
  };
  dv8_env_t *env = rt->env;
  if (current != nullptr)
    return refuse("an upgrade is already under way");
  if (flushing != nullptr)
    return refuse("the process this one took over from is still sending "
                  "what it had queued (" +
                  std::to_string(flushing->held.size()) +
                  " connections): upgrade again once it has ended");
  if (env == nullptr || rt->stopping || rt->thread != nullptr || env->repl ||
      env->main_path.empty() || env->main_path.back() == ']')
    return refuse("only a program run from a file upgrades");
  auto *u = new Upgrade();
  u->rt = rt;
  u->done = done;
  u->done_arg = arg;
  std::string why = Collect(u);
  if (!why.empty()) {
    delete u;
    return refuse(why);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    delete u;
    return refuse(std::string("socketpair: ") + strerror(errno));
  }
  // The same program, as it was started, with the socket on fd 3.
  char exe[4096];
  size_t exe_len = sizeof(exe);
  if (uv_exepath(exe, &exe_len) != 0) {
    close(sv[0]);
    close(sv[1]);
    delete u;
    return refuse("cannot find this program's binary");
  }
  std::vector<std::string> args = {exe};
  if (dv8__reload_deadline_ms != 1000) {
    args.push_back("--reload-deadline");
    args.push_back(std::to_string(dv8__reload_deadline_ms));
  }
  if (dv8__flush_deadline_ms != 60000) {
    args.push_back("--flush-deadline");
    args.push_back(std::to_string(dv8__flush_deadline_ms));
  }
  args.push_back(env->main_path);
  for (int i = 1; i < rt->argc; i++)
    args.push_back(rt->argv[i]);
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> vars;
  for (char **e = environ; *e != nullptr; e++)
    if (strncmp(*e, "DV8_UPGRADE_FD=", 15) != 0)
      vars.push_back(*e);
  vars.push_back("DV8_UPGRADE_FD=3");
  std::vector<char *> envp;
  for (auto &v : vars)
    envp.push_back(const_cast<char *>(v.c_str()));
  envp.push_back(nullptr);
  uv_stdio_container_t stdio[4];
  for (int i = 0; i < 3; i++) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = i;
  }
  stdio[3].flags = UV_INHERIT_FD;
  stdio[3].data.fd = sv[1];
  uv_process_options_t o = {};
  o.exit_cb = OnChildExit;
  o.file = exe;
  o.args = argv.data();
  o.env = envp.data();
  o.stdio_count = 4;
  o.stdio = stdio;
  u->child.data = u;
  int err = uv_spawn(&rt->loop, &u->child, &o);
  close(sv[1]);
  u->fd = sv[0];
  u->poll.data = u;
  u->drain.data = u;
  uv_poll_init(&rt->loop, &u->poll, u->fd);
  uv_timer_init(&rt->loop, &u->drain);
  u->handles_open = 3;
  current = u;
  if (err) {
    Finish(u, 1,
           std::string("cannot start the new process: ") + uv_strerror(err));
    return DV8_EEXCEPTION;
  }
  uv_poll_start(&u->poll, UV_READABLE, OnReadable);
  return 0;
}

extern "C" void dv8__upgrade_stop(void) {
  if (flushing != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t *>(&flushing->poll),
             OnFlushingClosed);
    flushing = nullptr;
  }
  Upgrade *u = current;
  if (u == nullptr)
    return;
  // Ending mid-upgrade (SIGTERM before the new process took over): the
  // caller hears, the new process is stopped, and nothing resumes.
  current = nullptr;
  u->finished = true;
  if (!u->took_over)
    uv_process_kill(&u->child, SIGTERM);
  if (u->done != nullptr)
    u->done(u->done_arg, 1, "this process is ending");
  CloseUpgrade(u);
}

extern "C" void dv8__upgrade_on_usr2(dv8_runtime_t *rt) {
  uv_signal_init(&rt->loop, &usr2);
  usr2.data = rt;
  uv_signal_start(&usr2, OnUsr2, SIGUSR2);
  uv_unref(reinterpret_cast<uv_handle_t *>(&usr2));
}

// The new process's side: the entry module loaded (not started), then the
// handoff received and load(state, fromVersion) called with the handles
// under their old ids. 0, or 1 (the old process was told why).
extern "C" int dv8__run_upgraded(dv8_env_t *env, const char *path, int fd) {
  dv8_runtime_t *rt = env->rt;
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  auto fail = [&](const std::string &why) {
    std::string msg = "F" + why;
    dv8__send_all(fd, msg.data(), msg.size());
    close(fd);
    fprintf(stderr, "dv8: taking over failed: %s\n", why.c_str());
    return 1;
  };
  {
    v8::TryCatch try_catch(isolate);
    char abs[4096];
    if (realpath(path, abs) == nullptr)
      return fail(std::string(path) + ": " + strerror(errno));
    if (dv8::LoadMain(env, abs) != 0)
      return fail(try_catch.HasCaught()
                      ? dv8::DescribeException(env, try_catch.Exception())
                      : "the code failed to load");
  }
  if (!dv8__send_all(fd, "R", 1))
    return fail("the old process went away");
  uint8_t head[20];
  if (!dv8__recv_all(fd, head, sizeof(head)) || Get32(head) != kMagic)
    return fail("no handoff came");
  uint32_t n = Get32(head + 4), pending = Get32(head + 8),
           state_len = Get32(head + 12), version_len = Get32(head + 16);
  std::vector<int> fds;
  for (uint32_t i = 0; i < n + pending; i += kFdsPerMessage)
    if (!RecvFds(fd, std::min<uint32_t>(n + pending - i, kFdsPerMessage), &fds))
      return fail("the descriptors did not come");
  std::vector<uint8_t> body(static_cast<size_t>(n + pending) * 4 + n +
                            state_len + version_len);
  if (!dv8__recv_all(fd, body.data(), body.size()))
    return fail("the state did not come");
  // Each descriptor becomes a stream (or a server) under its old id.
  v8::TryCatch try_catch(isolate);
  Local<v8::Object> net;
  Local<Value> open, listen_fd;
  if (!dv8::NativeExports(env, "net").ToLocal(&net) ||
      !net->Get(context, dv8::Str(isolate, "open")).ToLocal(&open) ||
      !net->Get(context, dv8::Str(isolate, "listenFd")).ToLocal(&listen_fd))
    return fail("the net module is missing");
  // A server's callback until the new code binds its own: nothing is
  // accepted in between (load runs right after, in this same turn).
  Local<v8::Function> placeholder =
      v8::Function::New(context, [](const v8::FunctionCallbackInfo<Value> &) {
      }).ToLocalChecked();
  std::vector<dv8_handle_t *> opened;
  for (uint32_t i = 0; i < n; i++) {
    int listening = 0;
    socklen_t len = sizeof(listening);
    getsockopt(fds[i], SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
    Local<Value> result;
    if (listening) {
      Local<Value> argv[] = {v8::Integer::New(isolate, fds[i]),
                             v8::Integer::New(isolate, 511), placeholder};
      if (!listen_fd.As<v8::Function>()
               ->Call(context, net, 3, argv)
               .ToLocal(&result))
        return fail("a server could not be opened");
    } else {
      Local<Value> argv[] = {v8::Integer::New(isolate, fds[i])};
      if (!open.As<v8::Function>()
               ->Call(context, net, 1, argv)
               .ToLocal(&result))
        return fail("a connection could not be opened");
    }
    double id = result->NumberValue(context).FromMaybe(-1);
    dv8_handle_t *h =
        id > 0 ? dv8__handles_find(&rt->handles, static_cast<uint32_t>(id))
               : nullptr;
    if (h == nullptr)
      return fail("a descriptor could not be opened (" +
                  std::to_string(static_cast<int>(id)) + ")");
    opened.push_back(h);
  }
  // Then each takes its old id; one of ours in the way moves aside first
  // (to a slot past all of them). A handle of the new code's own there
  // (made at its top level) cannot: the upgrade is refused.
  dv8_handle_table_t *t = &rt->handles;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t want = Get32(body.data() + 4 * i);
    uint32_t index = want & (DV8_HANDLE_MAX - 1);
    dv8_handle_t *in_way = index < t->used && t->slots[index] != opened[i]
                               ? t->slots[index]
                               : nullptr;
    if (in_way != nullptr) {
      bool ours = false;
      for (uint32_t j = i + 1; j < n; j++)
        ours = ours || opened[j] == in_way;
      uint32_t aside = t->used + n + 1;
      if (!ours ||
          dv8__handles_rehome(t, in_way, aside | (1u << DV8_HANDLE_INDEX_BITS)))
        return fail("handle " + std::to_string(want) +
                    " cannot keep its id here (the new code's top level "
                    "made a handle in its place)");
    }
    int err = dv8__handles_rehome(t, opened[i], want);
    if (err)
      return fail("handle " + std::to_string(want) +
                  " cannot keep its id here: " + uv_strerror(err));
  }
  // Connections the old process still flushes: our writes to them wait.
  const uint8_t *unflushed = body.data() + 4 * static_cast<size_t>(n + pending);
  Local<Value> hold;
  if (!net->Get(context, dv8::Str(isolate, "holdWrites")).ToLocal(&hold))
    return fail("the net module is missing");
  std::vector<uint32_t> held;
  for (uint32_t i = 0; i < n; i++) {
    if (!unflushed[i])
      continue;
    Local<Value> argv[] = {v8::Number::New(isolate, opened[i]->id),
                           v8::True(isolate)};
    Local<Value> ignored;
    if (!hold.As<v8::Function>()->Call(context, net, 2, argv).ToLocal(&ignored))
      return fail("a connection's writes could not be held");
    held.push_back(opened[i]->id);
  }
  size_t at = 4 * static_cast<size_t>(n + pending) + n;
  std::vector<uint8_t> state(body.begin() + at, body.begin() + at + state_len);
  std::vector<uint8_t> version(body.begin() + at + state_len, body.end());
  std::string error;
  if (!dv8::LoadFromHandoff(rt, state, version, &error))
    return fail(error);
  // Connections the old process had accepted but not handed to its code:
  // to the new code's servers now.
  Local<Value> accept_fd;
  if (pending > 0 &&
      !net->Get(context, dv8::Str(isolate, "acceptFd")).ToLocal(&accept_fd))
    return fail("the net module is missing");
  for (uint32_t k = 0; k < pending; k++) {
    uint32_t server = Get32(body.data() + 4 * (n + k));
    if (server >= n)
      return fail("a pending connection names no server");
    Local<Value> argv[] = {v8::Number::New(isolate, opened[server]->id),
                           v8::Integer::New(isolate, fds[n + k])};
    Local<Value> ignored;
    if (!accept_fd.As<v8::Function>()
             ->Call(context, net, 2, argv)
             .ToLocal(&ignored))
      return fail("a pending connection could not be handed on");
  }
  dv8::RunMicrotasks(env);
  dv8__send_all(fd, "K", 1);
  // Connections the old process accepted meanwhile come last ('L', the
  // server's index, the descriptor); then it closes its end.
  char tag = 0;
  while (dv8__recv_all(fd, &tag, 1) && tag == 'L') {
    uint8_t index[4];
    std::vector<int> late;
    if (!dv8__recv_all(fd, index, 4) || !RecvFds(fd, 1, &late))
      break;
    uint32_t server = Get32(index);
    if (server >= n) {
      close(late[0]);
      continue;
    }
    Local<Value> accept;
    Local<Value> argv[] = {v8::Number::New(isolate, opened[server]->id),
                           v8::Integer::New(isolate, late[0])};
    Local<Value> ignored;
    if (!net->Get(context, dv8::Str(isolate, "acceptFd")).ToLocal(&accept) ||
        !accept.As<v8::Function>()
             ->Call(context, net, 2, argv)
             .ToLocal(&ignored))
      close(late[0]);
  }
  dv8::RunMicrotasks(env);
  if (held.empty()) {
    close(fd);
    return 0;
  }
  // Then, after 'E', as the old process's queues empty: 'W' and an id
  // (OnFlushed). Its end of the socket closes when it is done.
  auto *f = new Flushing();
  f->rt = rt;
  f->fd = fd;
  f->held = held;
  f->poll.data = f;
  flushing = f;
  uv_poll_init(&rt->loop, &f->poll, fd);
  uv_poll_start(&f->poll, UV_READABLE, OnFlushed);
  if (tag != 'E') // it went away (killed) after 'K': what it held is lost
    OnFlushed(&f->poll, UV_EOF, 0);
  return 0;
}
