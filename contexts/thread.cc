// Worker threads, the V8 side: the binding natives thread.js is built on,
// handing arrived messages to JS, and recording a thread's uncaught error
// for its parent. The threads, ports and channels are host/thread.c's.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "contexts/internal.h"

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

// What a port's receiver is called with first (thread.js).
enum {
  kData = 1,
  kExit = 2,
  kBatch = 3,
  kDrain = 4,
  kGone = 5,
  kSignal = 6,
  kReloaded = 7, // the thread's reload went (code 0) or failed (-1, why)
  kRelease = 8,  // a reload retires this context: send what is held
};

void ThrowType(v8::Isolate *isolate, const char *msg) {
  isolate->ThrowException(v8::Exception::TypeError(dv8::Str(isolate, msg)));
}

// A port's JS side is its slots, kept by the host per context: while a
// reload loads new code, what that code binds (its receiver, whether it
// listens, whether the port keeps the loop alive) waits apart, so that a
// reload that fails leaves the port as it was; the commit switches to it
// (dv8__port_switch).
enum { kSlotReceiver, kSlotListen, kSlotRef };

dv8_env_t *EnvOfCall(const FunctionCallbackInfo<Value> &info) {
  return dv8::EnvOf(info.GetIsolate()->GetCurrentContext());
}

// Binds value to p's slot for the calling code; whether that code is one
// a reload is loading (not yet driving p: the binding waits).
bool Bind(const FunctionCallbackInfo<Value> &info, dv8_port_t *p, int slot,
          Local<Value> value) {
  dv8_env_t *env = EnvOfCall(info);
  dv8__api_table.slot_set(env, &p->h, slot, dv8::ToC(value));
  return env != DV8_HEAD(&p->h)->env;
}

// p's receiver in the code driving it, or an empty handle.
Local<v8::Function> ReceiverOf(dv8_port_t *p) {
  if (!dv8__api_table.slot_bound(&p->h, kSlotReceiver))
    return Local<v8::Function>();
  return dv8::ToV8(dv8__api_table.slot_get(&p->h, kSlotReceiver))
      .As<v8::Function>();
}

void SetRef(dv8_port_t *p, bool on) {
  if (on)
    uv_ref(reinterpret_cast<uv_handle_t *>(&p->async));
  else
    uv_unref(reinterpret_cast<uv_handle_t *>(&p->async));
}

// ArrayBuffers moved with a message: their memory, which outlives the
// sender's detached objects until the receiver makes new ones over it.
// A handle moved with a message: its type, a descriptor of its own and
// what its type's move_out took (a TLS layer), freed here if the message
// is dropped before it is delivered.
struct MovedHandle {
  const dv8_handle_type_t *type;
  int fd;
  void *state;
};

struct Attached {
  std::vector<std::shared_ptr<v8::BackingStore>> stores;
  std::vector<MovedHandle> fds;
  ~Attached() {
    for (auto &f : fds) {
      if (f.fd >= 0)
        close(f.fd);
      if (f.state != nullptr)
        DV8_TYPE_OP(f.type, move_drop)(f.state);
    }
  }
};

void ReleaseAttached(void *attached) {
  delete static_cast<Attached *>(attached);
}

// A send that failed: what move_out took goes back on the handles it came
// from (still open here), in order, as far as the list went.
void GiveBack(Attached *attached, const std::vector<dv8_handle_t *> &handles) {
  for (size_t i = 0;
       attached != nullptr && i < attached->fds.size() && i < handles.size();
       i++) {
    MovedHandle &f = attached->fds[i];
    if (f.state == nullptr)
      continue;
    void *state = f.state;
    f.state = nullptr;
    // (Its layer lost, the stream would speak plain: it closes instead.)
    if (DV8_TYPE_OP(f.type, move_in)(handles[i], state) != 0)
      dv8__handle_close(handles[i]);
  }
}

// The handles named by ids, each able to move (its type exports and
// imports descriptors), none twice; false (an exception thrown) if not.
bool MovedHandles(v8::Isolate *isolate, Local<Value> list,
                  std::vector<dv8_handle_t *> *out) {
  if (list->IsUndefined())
    return true;
  Local<v8::Context> context = isolate->GetCurrentContext();
  if (!list->IsArray()) {
    ThrowType(isolate, "handles must be an array of handle ids");
    return false;
  }
  Local<v8::Array> arr = list.As<v8::Array>();
  dv8_runtime_t *rt = dv8::RuntimeOf(isolate);
  for (uint32_t i = 0; i < arr->Length(); i++) {
    Local<Value> v;
    if (!arr->Get(context, i).ToLocal(&v))
      return false;
    dv8_handle_t *h = dv8::HandleOf(rt, v);
    if (h == nullptr) {
      ThrowType(isolate, "handles: no such handle in this thread");
      return false;
    }
    const dv8_handle_type_t *type = DV8_HEAD(h)->type;
    if (DV8_TYPE_OP(type, export_fd) == nullptr ||
        DV8_TYPE_OP(type, import_fd) == nullptr) {
      std::string msg =
          std::string("handles: a ") + type->name + " cannot move";
      ThrowType(isolate, msg.c_str());
      return false;
    }
    for (dv8_handle_t *seen : *out)
      if (seen == h) {
        ThrowType(isolate, "handles: a handle is listed twice");
        return false;
      }
    out->push_back(h);
  }
  return true;
}

dv8_runtime_t *RuntimeOfCall(const FunctionCallbackInfo<Value> &info) {
  return dv8::RuntimeOf(info.GetIsolate());
}

// The buffers of a transfer list, checked: each an ArrayBuffer that can be
// detached, none twice; false (a TypeError thrown) when one is not.
bool TransferList(v8::Isolate *isolate, Local<Value> list,
                  std::vector<Local<v8::ArrayBuffer>> *out) {
  if (list->IsUndefined())
    return true;
  if (!list->IsArray()) {
    ThrowType(isolate, "transfer must be an array of ArrayBuffers");
    return false;
  }
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Array> arr = list.As<v8::Array>();
  for (uint32_t i = 0; i < arr->Length(); i++) {
    Local<Value> v;
    if (!arr->Get(context, i).ToLocal(&v))
      return false;
    if (!v->IsArrayBuffer()) {
      ThrowType(isolate, "transfer must be an array of ArrayBuffers");
      return false;
    }
    Local<v8::ArrayBuffer> ab = v.As<v8::ArrayBuffer>();
    std::string at = "transfer[" + std::to_string(i) + "]: ";
    if (ab->WasDetached()) {
      ThrowType(isolate, (at + "the ArrayBuffer is detached: its memory has "
                               "moved already (sent with a transfer list "
                               "before, or handed to a reload's new code)")
                             .c_str());
      return false;
    }
    if (!ab->IsDetachable()) {
      ThrowType(isolate,
                (at + "the ArrayBuffer cannot be detached: its memory stays "
                      "with its owner (a WebAssembly.Memory's buffer); leave "
                      "it out of transfer to send a copy")
                    .c_str());
      return false;
    }
    for (size_t k = 0; k < out->size(); k++)
      if ((*out)[k] == ab) {
        std::string also = "(also at transfer[" + std::to_string(k) + "])";
        ThrowType(isolate,
                  (at + "the ArrayBuffer is listed twice " + also).c_str());
        return false;
      }
    out->push_back(ab);
  }
  return true;
}

// The port with this id in the calling thread's table, or nullptr.
dv8_port_t *PortOf(const FunctionCallbackInfo<Value> &info, int i) {
  dv8_handle_t *h = dv8::HandleOf(RuntimeOfCall(info), info[i]);
  if (h == nullptr || DV8_HEAD(h)->type != &dv8__port_type)
    return nullptr;
  return reinterpret_cast<dv8_port_t *>(h);
}

bool Bytes(Local<Value> v, const uint8_t **data, size_t *len) {
  if (!v->IsUint8Array())
    return false;
  Local<v8::Uint8Array> u8 = v.As<v8::Uint8Array>();
  *data = static_cast<const uint8_t *>(u8->Buffer()->Data()) + u8->ByteOffset();
  *len = u8->ByteLength();
  return true;
}

// threadSpawn(spec, isSource, argsBytes, queueLimit, heapLimitMb): the
// port id of the new thread; a failure (no thread could be started:
// EAGAIN at the system's or the user's limit on threads, ENOMEM) throws
// the system error, .code its name.
void ThreadSpawn(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  dv8_env_t *env = dv8::EnvOf(context);
  const uint8_t *args;
  size_t args_len;
  if (!info[0]->IsString() || !Bytes(info[2], &args, &args_len))
    return ThrowType(isolate, "threadSpawn: bad arguments");
  std::string spec = dv8::ToStdString(isolate, info[0]);
  dv8_thread_options o = {};
  o.spec = spec.c_str();
  o.spec_is_source = info[1]->IsTrue();
  o.args = args;
  o.args_len = args_len;
  o.queue_limit =
      static_cast<size_t>(info[3]->NumberValue(context).FromMaybe(0));
  o.heap_limit_mb =
      static_cast<size_t>(info[4]->NumberValue(context).FromMaybe(0));
  dv8_port_t *port;
  int err = dv8__thread_spawn(env->rt, env, &o, &port);
  if (err) {
    dv8__api_table.throw_error(env, err, "spawning a thread");
    return;
  }
  info.GetReturnValue().Set(static_cast<double>(DV8_HEAD(&port->h)->id));
}

// portSend(id, bytes, transfer, handles, batch, force): 0, EFULL, ECLOSED
// or a code. batch: bytes are already framed messages (thread.js's Outbox);
// force: past the bound (a reload retiring the sender's context).
// The transfer list's ArrayBuffers move with the message (detached here
// once it is queued); so do the handles (closed here once it is queued,
// their descriptors duplicated to travel). Nothing changes when the send
// fails.
void PortSend(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  dv8_port_t *p = PortOf(info, 0);
  const uint8_t *data;
  size_t len;
  if (!Bytes(info[1], &data, &len))
    return ThrowType(isolate, "portSend: bytes must be a Uint8Array");
  std::vector<Local<v8::ArrayBuffer>> buffers;
  std::vector<dv8_handle_t *> handles;
  if (!TransferList(isolate, info[2], &buffers) ||
      !MovedHandles(isolate, info[3], &handles))
    return;
  if (p == nullptr)
    return info.GetReturnValue().Set(DV8_ECLOSED);
  Attached *attached = nullptr;
  if (!buffers.empty() || !handles.empty()) {
    attached = new Attached();
    for (auto &ab : buffers)
      attached->stores.push_back(ab->GetBackingStore());
    for (dv8_handle_t *h : handles) {
      int fd;
      const dv8_handle_type_t *type = DV8_HEAD(h)->type;
      // What it read and JS has not been given yet would stay behind.
      int err = dv8::PostedWaiting(h) ? UV_EBUSY
                                      : type->export_fd(h, DV8_TO_THREAD, &fd);
      int copy = err ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (copy < 0 && err == 0)
        err = -errno;
      // What the handle holds beyond its descriptor goes with it.
      void *(*move_out)(dv8_handle_t *, int *) = DV8_TYPE_OP(type, move_out);
      void *state = nullptr;
      if (err == 0 && move_out != nullptr)
        state = move_out(h, &err);
      if (err) {
        if (copy >= 0)
          close(copy);
        GiveBack(attached, handles);
        delete attached;
        return info.GetReturnValue().Set(err);
      }
      attached->fds.push_back({type, copy, state});
    }
  }
  // Sent by code a reload is loading: held until it commits.
  int err = dv8__port_send(p, data, len, attached, info[4]->IsTrue(),
                           info[5]->IsTrue(), EnvOfCall(info));
  if (err) {
    GiveBack(attached, handles);
    delete attached;
  } else {
    for (auto &ab : buffers)
      ab->Detach();
    for (dv8_handle_t *h : handles)
      dv8__handle_close(h);
  }
  info.GetReturnValue().Set(err);
}

// portOn(id, fn): fn(kind, bytes, code, isError) receives what arrives.
void PortOn(const FunctionCallbackInfo<Value> &info) {
  dv8_port_t *p = PortOf(info, 0);
  if (p != nullptr && info[1]->IsFunction())
    Bind(info, p, kSlotReceiver, info[1]);
}

// portRef(id, on): whether the port keeps its loop alive.
void PortRef(const FunctionCallbackInfo<Value> &info) {
  dv8_port_t *p = PortOf(info, 0);
  if (p == nullptr)
    return;
  bool on = info[1]->IsTrue();
  if (!Bind(info, p, kSlotRef, v8::Boolean::New(info.GetIsolate(), on)))
    SetRef(p, on);
}

// portSignal(id, name): 0 or ECLOSED.
void PortSignal(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  dv8_port_t *p = PortOf(info, 0);
  if (!info[1]->IsString())
    return ThrowType(isolate, "signal: name must be a string");
  std::string name = dv8::ToStdString(isolate, info[1]);
  info.GetReturnValue().Set(
      p == nullptr ? DV8_ECLOSED
                   : dv8__port_signal(p, name.data(), name.size()));
}

// portListen(id, on): whether JS takes data messages (else they wait).
void PortListen(const FunctionCallbackInfo<Value> &info) {
  dv8_port_t *p = PortOf(info, 0);
  if (p == nullptr)
    return;
  bool on = info[1]->IsTrue();
  if (!Bind(info, p, kSlotListen, v8::Boolean::New(info.GetIsolate(), on)))
    dv8__port_listen(p, on);
}

// portSide(id): 0 for a parent's port to a running thread, 1 for a
// thread's port to its parent, -1 for anything else.
void PortSide(const FunctionCallbackInfo<Value> &info) {
  dv8_port_t *p = PortOf(info, 0);
  info.GetReturnValue().Set(p == nullptr || p->exited ? -1 : p->side);
}

// threadReload(id, threadsToo): asks a thread to reload; 0 or ECLOSED.
void ThreadReload(const FunctionCallbackInfo<Value> &info) {
  dv8_port_t *p = PortOf(info, 0);
  info.GetReturnValue().Set(
      p == nullptr ? DV8_ECLOSED : dv8__port_reload(p, info[1]->IsTrue()));
}

// threadEntry(namespace): in a thread, the module it runs is its entry:
// what a reload loads again (and --watch watches).
void ThreadEntry(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  dv8_env_t *env = dv8::EnvOf(isolate->GetCurrentContext());
  dv8::ModuleEntry *entry = nullptr;
  for (auto &m : env->modules) {
    Local<v8::Module> module = m->module.Get(isolate);
    m->main = false; // the [eval] that started the thread is not
    if (entry == nullptr && module->GetStatus() >= v8::Module::kInstantiated &&
        module->GetModuleNamespace()->StrictEquals(info[0]))
      entry = m.get();
  }
  if (entry == nullptr)
    return;
  entry->main = true;
  env->main_path = entry->path;
  if (dv8__watch_all)
    dv8__watch_start(env->rt);
}

void ThreadTerminate(const FunctionCallbackInfo<Value> &info) {
  dv8_port_t *p = PortOf(info, 0);
  if (p != nullptr)
    dv8__thread_terminate(p);
}

// threadSelf(): in a thread, { spec, isSource, args, port }; else undefined.
void ThreadSelf(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  dv8_runtime_t *rt = RuntimeOfCall(info);
  dv8_port_t *port;
  if (rt->thread == nullptr || dv8__thread_parent_port(rt, &port) != 0)
    return;
  const char *spec;
  int is_source;
  const uint8_t *args;
  size_t args_len;
  dv8__thread_spec(rt, &spec, &is_source, &args, &args_len);
  Local<v8::ArrayBuffer> ab;
  if (!dv8::NewArrayBuffer(isolate, args_len).ToLocal(&ab))
    return;
  if (args_len > 0)
    memcpy(ab->Data(), args, args_len);
  Local<v8::Object> out = v8::Object::New(isolate);
  out->Set(context, dv8::Str(isolate, "spec"), dv8::Str(isolate, spec)).Check();
  out->Set(context, dv8::Str(isolate, "isSource"),
           v8::Boolean::New(isolate, is_source))
      .Check();
  out->Set(context, dv8::Str(isolate, "args"),
           v8::Uint8Array::New(ab, 0, args_len))
      .Check();
  out->Set(
         context, dv8::Str(isolate, "port"),
         v8::Number::New(isolate, static_cast<double>(DV8_HEAD(&port->h)->id)))
      .Check();
  info.GetReturnValue().Set(out);
}

// threadResult(bytes, isError): what the parent gets at exit.
void ThreadResult(const FunctionCallbackInfo<Value> &info) {
  const uint8_t *data;
  size_t len;
  if (Bytes(info[0], &data, &len))
    dv8__thread_set_result(RuntimeOfCall(info), data, len, info[1]->IsTrue());
}

} // namespace

namespace dv8 {

void AddThreadBinding(v8::Isolate *isolate, Local<v8::Object> binding) {
  dv8::SetFn(isolate, binding, "threadSpawn", ThreadSpawn);
  dv8::SetFn(isolate, binding, "portSend", PortSend);
  dv8::SetFn(isolate, binding, "portOn", PortOn);
  dv8::SetFn(isolate, binding, "portRef", PortRef);
  dv8::SetFn(isolate, binding, "threadTerminate", ThreadTerminate);
  dv8::SetFn(isolate, binding, "portSignal", PortSignal);
  dv8::SetFn(isolate, binding, "portListen", PortListen);
  dv8::SetFn(isolate, binding, "portSide", PortSide);
  dv8::SetFn(isolate, binding, "threadReload", ThreadReload);
  dv8::SetFn(isolate, binding, "threadEntry", ThreadEntry);
  dv8::SetFn(isolate, binding, "threadSelf", ThreadSelf);
  dv8::SetFn(isolate, binding, "threadResult", ThreadResult);
}

void InitThreads() { dv8__message_release = ReleaseAttached; }

bool FlushPorts(dv8_runtime_t *rt, dv8_env_t *env) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  for (dv8_handle_t *h = dv8__handles_next(&rt->handles, nullptr); h != nullptr;
       h = dv8__handles_next(&rt->handles, h)) {
    dv8_head_t *hh = DV8_HEAD(h);
    if (hh->type != &dv8__port_type || hh->env != env ||
        (hh->flags & DV8_HANDLE_CLOSING))
      continue;
    Local<v8::Function> fn = ReceiverOf(reinterpret_cast<dv8_port_t *>(h));
    Local<Value> argv[1] = {v8::Integer::New(isolate, kRelease)};
    if (!fn.IsEmpty() &&
        fn->Call(context, v8::Undefined(isolate), 1, argv).IsEmpty())
      return false;
  }
  return true;
}

void RecordThreadError(dv8_env_t *env, Local<Value> exception) {
  dv8_runtime_t *rt = env->rt;
  if (rt->thread == nullptr)
    return;
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = isolate->GetCurrentContext();
  std::string name = "Error", message, stack;
  bool has_stack = false;
  if (exception->IsObject()) {
    Local<v8::Object> obj = exception.As<v8::Object>();
    v8::TryCatch ignore(isolate); // a throwing getter leaves the defaults
    Local<Value> v;
    if (obj->Get(context, dv8::Str(isolate, "name")).ToLocal(&v) &&
        v->IsString())
      name = dv8::ToStdString(isolate, v);
    if (obj->Get(context, dv8::Str(isolate, "message")).ToLocal(&v))
      message = dv8::ToStdString(isolate, v);
    if (obj->Get(context, dv8::Str(isolate, "stack")).ToLocal(&v) &&
        v->IsString()) {
      stack = dv8::ToStdString(isolate, v);
      has_stack = true;
    }
  } else {
    name = "Error";
    message = "uncaught " + dv8::ToStdString(isolate, exception);
  }
  dv8__thread_set_error(rt, name.c_str(), message.c_str(),
                        has_stack ? stack.c_str() : nullptr);
}

} // namespace dv8

extern "C" void dv8__isolate_terminate(dv8_runtime_t *rt) {
  rt->isolate->isolate->TerminateExecution();
}

static const char kThreadMain[] =
    "import { main } from 'thread';\nawait main();\n";

extern "C" int dv8__run_thread_main(dv8_env_t *env) {
  return dv8__run_eval(env, kThreadMain);
}

extern "C" void dv8__prepare_thread_main(dv8_env_t *env) {
  dv8__prepare_eval(env, kThreadMain);
}

// Whether messages wait in p's channel (a paused listener's).
static bool ChannelWaiting(dv8_port_t *p) {
  size_t count = 0, bytes = 0;
  if (p->channel != nullptr)
    dv8__channel_stats(p->channel, p->side, &count, &bytes);
  return count > 0;
}

extern "C" void dv8__port_deliver(dv8_port_t *p, dv8_message_t *list,
                                  int drained, int peer_gone) {
  dv8_env_t *env = DV8_HEAD(&p->h)->env;
  // Events posted before these messages came reach JS first.
  if (env != nullptr)
    dv8::DeliverPosted(env->rt->isolate);
  if (env == nullptr || env->rt->stopping ||
      !dv8__api_table.slot_bound(&p->h, kSlotReceiver)) {
    dv8__message_free(list);
    return;
  }
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  Local<v8::Function> fn = ReceiverOf(p);
  v8::TryCatch try_catch(isolate);
  bool ok = true;
  // Signals first: they overtake the data messages that came with them.
  for (dv8_message_t **link = &list; *link != nullptr && ok;) {
    dv8_message_t *m = *link;
    if (m->kind != DV8_MSG_SIGNAL) {
      link = &m->next;
      continue;
    }
    *link = m->next;
    Local<v8::String> name;
    if (v8::String::NewFromUtf8(isolate, reinterpret_cast<char *>(m->data),
                                v8::NewStringType::kNormal,
                                static_cast<int>(m->len))
            .ToLocal(&name)) {
      Local<Value> argv[2] = {v8::Integer::New(isolate, kSignal), name};
      ok = !fn->Call(context, v8::Undefined(isolate), 2, argv).IsEmpty();
    }
    free(m);
  }
  if (!ok)
    dv8__message_free(list);
  // Data JS no longer listens for (it stopped while earlier messages were
  // delivered) goes back to the front of the channel, to wait.
  dv8_message_t *back = nullptr, **back_tail = &back;
  for (dv8_message_t *m = ok ? list : nullptr; m != nullptr && ok;) {
    // The thread's exit comes after its messages, also when the parent's
    // listener paused with some undelivered (back here, or in the channel
    // from an earlier batch) and the thread ended meanwhile: it is held
    // until they are taken (thread.c port_poll), and the channel is not
    // dropped with them. A parent that never listened drops them and
    // hears of the end at once.
    if (m->kind == DV8_MSG_EXIT && p->side == 0 && !p->listening &&
        p->listened && (back != nullptr || ChannelWaiting(p))) {
      dv8_message_t *next = m->next;
      m->next = nullptr;
      dv8_message_t **t = &p->held_exit;
      while (*t != nullptr)
        t = &(*t)->next;
      *t = m;
      m = next;
      continue;
    }
    if (m->kind == DV8_MSG_DATA && !p->listening) {
      dv8_message_t *next = m->next;
      m->next = nullptr;
      *back_tail = m;
      back_tail = &m->next;
      m = next;
      continue;
    }
    if (m->kind == DV8_MSG_DATA && m->attached == nullptr) {
      // A run of plain messages goes to JS in one call, as one buffer of
      // [length (u32 LE), bytes]...: a call and an ArrayBuffer per batch,
      // not per message.
      size_t total = 0;
      dv8_message_t *end = m;
      for (; end != nullptr && end->kind == DV8_MSG_DATA &&
             end->attached == nullptr;
           end = end->next)
        total += (end->flags & DV8_MESSAGE_BATCH ? 0 : 4) + end->len;
      Local<v8::ArrayBuffer> ab;
      if (!dv8::NewArrayBuffer(isolate, total).ToLocal(&ab)) {
        dv8__message_free(m);
        ok = false;
        break;
      }
      auto *out = static_cast<uint8_t *>(ab->Data());
      while (m != end) {
        dv8_message_t *next = m->next;
        if (!(m->flags & DV8_MESSAGE_BATCH)) { // framed here
          uint32_t n = static_cast<uint32_t>(m->len);
          out[0] = static_cast<uint8_t>(n);
          out[1] = static_cast<uint8_t>(n >> 8);
          out[2] = static_cast<uint8_t>(n >> 16);
          out[3] = static_cast<uint8_t>(n >> 24);
          out += 4;
        }
        memcpy(out, m->data, m->len);
        out += m->len;
        free(m);
        m = next;
      }
      Local<Value> argv[2] = {v8::Integer::New(isolate, kBatch),
                              v8::Uint8Array::New(ab, 0, total)};
      Local<Value> done;
      ok = fn->Call(context, v8::Undefined(isolate), 2, argv).ToLocal(&done);
      // JS stopped listening part way: it tells where, the rest waits.
      double at = ok && done->IsNumber() ? done.As<v8::Number>()->Value() : 0;
      if (ok && at >= 0 && at < static_cast<double>(total)) {
        size_t from = static_cast<size_t>(at);
        dv8_message_t *rest = dv8__message_new(DV8_MSG_DATA, total - from);
        if (rest != nullptr) {
          rest->flags |= DV8_MESSAGE_BATCH;
          memcpy(rest->data, static_cast<uint8_t *>(ab->Data()) + from,
                 total - from);
          *back_tail = rest;
          back_tail = &rest->next;
        }
      }
      if (!ok)
        dv8__message_free(m);
      continue;
    }
    dv8_message_t *next = m->next;
    uint32_t kind = m->kind;
    Local<Value> argv[6] = {
        v8::Integer::New(isolate, static_cast<int>(kind)),
        v8::Undefined(isolate),
        v8::Integer::New(isolate, m->code),
        v8::Boolean::New(isolate, m->flags & DV8_MESSAGE_ERROR),
        v8::Undefined(isolate),
        v8::Undefined(isolate)};
    if (m->attached != nullptr) {
      // Moved buffers: new ArrayBuffers over the same memory, counted
      // against this thread's memory limit from now on (the sender's
      // count dropped when it detached them). Past the limit, the thread
      // ends of it, and what it was sent goes with it.
      auto *a = static_cast<Attached *>(m->attached);
      size_t moved = 0;
      for (auto &store : a->stores)
        moved += store->ByteLength();
      if (!dv8::MemoryAllows(env->rt, moved)) {
        dv8__message_free(m);
        ok = false;
        break;
      }
      Local<v8::Array> list =
          v8::Array::New(isolate, static_cast<int>(a->stores.size()));
      for (size_t i = 0; i < a->stores.size(); i++)
        list->Set(context, static_cast<uint32_t>(i),
                  v8::ArrayBuffer::New(isolate, a->stores[i]))
            .Check();
      argv[4] = list;
      // Moved handles: their descriptors reopened in this thread's loop;
      // each becomes a handle id here (or an error code, fd closed).
      Local<v8::Array> ids =
          v8::Array::New(isolate, static_cast<int>(a->fds.size()));
      for (size_t i = 0; i < a->fds.size(); i++) {
        dv8_handle_t *h = nullptr;
        MovedHandle &f = a->fds[i];
        int err = f.type->import_fd(env, f.fd, &h);
        if (err == 0)
          f.fd = -1; // the handle owns it now
        if (err == 0 && f.state != nullptr) {
          void *state = f.state;
          f.state = nullptr; // move_in's now, freed there on failure
          err = DV8_TYPE_OP(f.type, move_in)(h, state);
          if (err)
            dv8__handle_close(h);
        }
        double id = err ? err : static_cast<double>(DV8_HEAD(h)->id);
        ids->Set(context, static_cast<uint32_t>(i),
                 v8::Number::New(isolate, id))
            .Check();
      }
      if (!a->fds.empty())
        argv[5] = ids;
      delete a;
      m->attached = nullptr;
    }
    if (kind == DV8_MSG_RELOADED) {
      if (m->len > 0)
        argv[1] = v8::String::NewFromUtf8(
                      isolate, reinterpret_cast<char *>(m->data),
                      v8::NewStringType::kNormal, static_cast<int>(m->len))
                      .FromMaybe(Local<v8::String>());
      argv[0] = v8::Integer::New(isolate, kReloaded);
      free(m);
      ok = !fn->Call(context, v8::Undefined(isolate), 6, argv).IsEmpty();
    } else if (kind == DV8_MSG_DATA || (kind == DV8_MSG_EXIT && m->len > 0)) {
      // The message's memory becomes the ArrayBuffer's: no copy.
      std::unique_ptr<v8::BackingStore> store =
          v8::ArrayBuffer::NewBackingStore(
              m->data, m->len, [](void *, size_t, void *msg) { free(msg); }, m);
      Local<v8::ArrayBuffer> ab =
          v8::ArrayBuffer::New(isolate, std::move(store));
      argv[1] = v8::Uint8Array::New(ab, 0, m->len);
    } else {
      free(m);
    }
    if (kind == DV8_MSG_DATA || kind == DV8_MSG_EXIT)
      ok = !fn->Call(context, v8::Undefined(isolate), 6, argv).IsEmpty();
    m = next;
    if (!ok)
      dv8__message_free(m);
  }
  if (back != nullptr) {
    if (p->channel != nullptr)
      dv8__channel_requeue(p->channel, p->side, back);
    else
      dv8__message_free(back);
  }
  if (ok && drained) {
    Local<Value> argv[1] = {v8::Integer::New(isolate, kDrain)};
    ok = !fn->Call(context, v8::Undefined(isolate), 1, argv).IsEmpty();
  }
  if (ok && peer_gone && p->side == 1) {
    Local<Value> argv[1] = {v8::Integer::New(isolate, kGone)};
    ok = !fn->Call(context, v8::Undefined(isolate), 1, argv).IsEmpty();
  }
  if (!ok) {
    dv8::ReportUncaught(env, try_catch);
    return;
  }
  dv8::RunMicrotasks(env);
}

extern "C" void dv8__port_switch(dv8_port_t *p) {
  dv8_env_t *env = DV8_HEAD(&p->h)->env;
  if (p->slot_env == env) // an abort: nothing changed
    return;
  p->slot_env = env;
  // What the new code asked for (it bound its receiver, listening and
  // ref state while it loaded), or nothing: what comes then waits in the
  // channel until that code adopts the port. The side's default ref: a
  // parent's port keeps its loop alive until the thread's exit comes; a
  // thread's only while it listens.
  v8::HandleScope scope(env->isolate);
  auto flag = [&](int slot, bool fallback) {
    if (!dv8__api_table.slot_bound(&p->h, slot))
      return fallback;
    return dv8::ToV8(dv8__api_table.slot_get(&p->h, slot))->IsTrue();
  };
  dv8__port_listen(p, flag(kSlotListen, false));
  SetRef(p, flag(kSlotRef, p->side == 0));
}
