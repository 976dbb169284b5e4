// The module C API (include/dv8.h): the table of functions handed to every
// native module, implemented over V8.
//
// Lifetimes: a NativeFunction lives as long as its env (the JS function may
// be called until the context is disposed). A Wrapped lives until its JS
// object is collected or its env is disposed, whichever comes first; the
// finalizer runs exactly once either way. A dv8_ref_t is a heap Global the
// module owns until ref_free.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <mutex>
#include <new>

#include "contexts/internal.h"

using v8::Local;
using v8::Value;

namespace dv8 {

// Its address marks objects made by ApiWrap (internal field 1).
alignas(8) const char kWrapTag[8] = "dv8wrap";

struct Wrapped {
  Wrapped *prev, *next; // the env's list, for finalizing at dispose
  dv8_env_t *env;
  v8::Global<v8::Object> object;
  void *ptr;
  dv8_finalize_cb finalize;
  void *hint;
};

} // namespace dv8

// What dv8_call_t points to during a native function call.
struct dv8_call_s {
  const v8::FunctionCallbackInfo<Value> *info;
  dv8::NativeFunction *fn;
};

namespace {

using dv8::ToC;
using dv8::ToV8;

Local<v8::Context> Ctx(dv8_env_t *env) {
  return env->isolate->GetCurrentContext();
}

void Trampoline(const v8::FunctionCallbackInfo<Value> &info) {
  auto *fn = static_cast<dv8::NativeFunction *>(
      info.Data().As<v8::External>()->Value());
  dv8_call_s call = {&info, fn};
  dv8_env_t *env = fn->env;
  // exception_pending belongs to the running native function: each starts
  // with nothing pending, and its caller's state comes back after it. One
  // that runs inside another's V8 call (a getter of dv8->get, a function
  // dv8->call calls) and throws, caught by the JS in between, leaves
  // nothing pending in the outer one.
  bool caller_pending = env->exception_pending;
  env->exception_pending = false;
  env->native_depth++;
  dv8_value_t result = fn->fn(env, &call);
  env->native_depth--;
  env->exception_pending = caller_pending;
  if (result != nullptr)
    info.GetReturnValue().Set(ToV8(result));
}

dv8_value_t ThrowTypeErrorV(dv8_env_t *env, const char *fmt, va_list ap) {
  char buf[512];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  env->isolate->ThrowException(
      v8::Exception::TypeError(dv8::Str(env->isolate, buf)));
  env->exception_pending = true;
  return nullptr;
}

dv8_value_t ThrowTypeError(dv8_env_t *env, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ThrowTypeErrorV(env, fmt, ap);
  va_end(ap);
  return nullptr;
}

dv8_value_t ThrowRangeError(dv8_env_t *env, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  env->isolate->ThrowException(
      v8::Exception::RangeError(dv8::Str(env->isolate, buf)));
  env->exception_pending = true;
  return nullptr;
}

dv8_value_t ApiThrowValue(dv8_env_t *env, dv8_value_t value) {
  Local<Value> v = ToV8(value);
  env->isolate->ThrowException(
      v.IsEmpty() ? v8::Undefined(env->isolate).As<Value>() : v);
  env->exception_pending = true;
  return nullptr;
}

// V8 leaves an empty result when what it ran threw: the exception is then
// pending until the native function returns.
template <typename T> T Pending(dv8_env_t *env, T result) {
  env->exception_pending = true;
  return result;
}

const char *TypeName(Local<Value> v) {
  if (v->IsUndefined())
    return "undefined";
  if (v->IsNull())
    return "null";
  if (v->IsBoolean())
    return "boolean";
  if (v->IsNumber())
    return "number";
  if (v->IsBigInt())
    return "bigint";
  if (v->IsString())
    return "string";
  if (v->IsSymbol())
    return "symbol";
  if (v->IsFunction())
    return "function";
  if (v->IsArray())
    return "array";
  return "object";
}

// Throws "NAME: argument I must be WHAT (got TYPE)".
int ArgTypeError(dv8_env_t *env, dv8_call_t *call, int i, const char *what) {
  ThrowTypeError(env, "%s: argument %d must be %s (got %s)",
                 call->fn->name.c_str(), i + 1, what,
                 TypeName((*call->info)[i]));
  return DV8_ETYPE;
}

// ---- environment and exports ----

uv_loop_t *ApiLoop(dv8_env_t *env) { return &env->rt->loop; }

int ApiSet(dv8_env_t *env, dv8_value_t obj, const char *name,
           dv8_value_t value) {
  Local<Value> o = ToV8(obj);
  if (o.IsEmpty() || !o->IsObject() || value == nullptr)
    return UV_EINVAL;
  // A data property, as "define" says: setters (__proto__ among them) are
  // not run, so a key like "__proto__" from outside is kept as data.
  bool ok = o.As<v8::Object>()
                ->CreateDataProperty(Ctx(env), dv8::Str(env->isolate, name),
                                     ToV8(value))
                .FromMaybe(false);
  return ok ? 0 : Pending(env, DV8_EEXCEPTION);
}

int ApiSetFunction(dv8_env_t *env, dv8_value_t obj, const char *name,
                   dv8_function_cb fn, void *data) {
  Local<v8::Function> f;
  if (!dv8::NewFunction(env, name, fn, data).ToLocal(&f))
    return DV8_EEXCEPTION;
  return ApiSet(env, obj, name, ToC(f));
}

int ApiSetNumber(dv8_env_t *env, dv8_value_t obj, const char *name, double n) {
  return ApiSet(env, obj, name, ToC(v8::Number::New(env->isolate, n)));
}

int ApiSetString(dv8_env_t *env, dv8_value_t obj, const char *name,
                 const char *s) {
  v8::MaybeLocal<v8::String> str = v8::String::NewFromUtf8(env->isolate, s);
  if (str.IsEmpty())
    return UV_E2BIG;
  return ApiSet(env, obj, name, ToC(str.ToLocalChecked()));
}

dv8_value_t ApiGet(dv8_env_t *env, dv8_value_t obj, const char *name) {
  Local<Value> o = ToV8(obj);
  if (o.IsEmpty() || !o->IsObject())
    return ToC(v8::Undefined(env->isolate));
  Local<Value> out;
  if (!o.As<v8::Object>()
           ->Get(Ctx(env), dv8::Str(env->isolate, name))
           .ToLocal(&out))
    return Pending<dv8_value_t>(env, nullptr);
  return ToC(out);
}

int ApiSetIndex(dv8_env_t *env, dv8_value_t arr, uint32_t index,
                dv8_value_t value) {
  Local<Value> o = ToV8(arr);
  if (o.IsEmpty() || !o->IsObject() || value == nullptr)
    return UV_EINVAL;
  bool ok =
      o.As<v8::Object>()->Set(Ctx(env), index, ToV8(value)).FromMaybe(false);
  return ok ? 0 : Pending(env, DV8_EEXCEPTION);
}

dv8_value_t ApiGetIndex(dv8_env_t *env, dv8_value_t arr, uint32_t index) {
  Local<Value> o = ToV8(arr);
  if (o.IsEmpty() || !o->IsObject())
    return ToC(v8::Undefined(env->isolate));
  Local<Value> out;
  if (!o.As<v8::Object>()->Get(Ctx(env), index).ToLocal(&out))
    return Pending<dv8_value_t>(env, nullptr);
  return ToC(out);
}

// ---- calls ----

int ApiArgc(dv8_call_t *call) { return call->info->Length(); }

dv8_value_t ApiArg(dv8_call_t *call, int i) { return ToC((*call->info)[i]); }

dv8_value_t ApiThis(dv8_call_t *call) { return ToC(call->info->This()); }

void *ApiCallData(dv8_call_t *call) { return call->fn->data; }

int ApiArgNumber(dv8_env_t *env, dv8_call_t *call, int i, double *out) {
  Local<Value> v = (*call->info)[i];
  if (!v->IsNumber())
    return ArgTypeError(env, call, i, "a number");
  *out = v.As<v8::Number>()->Value();
  return 0;
}

int ApiArgInt64(dv8_env_t *env, dv8_call_t *call, int i, int64_t *out) {
  Local<Value> v = (*call->info)[i];
  if (v->IsInt32()) {
    *out = v.As<v8::Int32>()->Value();
    return 0;
  }
  if (v->IsNumber()) {
    double d = v.As<v8::Number>()->Value();
    // The range first: casting NaN, an infinity or a number past the int64
    // range is undefined behaviour. 2^63 is exactly representable; anything
    // at or past it is not an int64.
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
        d == std::trunc(d)) {
      *out = static_cast<int64_t>(d);
      return 0;
    }
    return ArgTypeError(env, call, i, "an integer");
  }
  if (v->IsBigInt()) {
    bool lossless = false;
    *out = v.As<v8::BigInt>()->Int64Value(&lossless);
    if (lossless)
      return 0;
    return ArgTypeError(env, call, i, "a 64-bit integer");
  }
  return ArgTypeError(env, call, i, "an integer");
}

int ApiArgString(dv8_env_t *env, dv8_call_t *call, int i, char **out,
                 size_t *len) {
  Local<Value> v = (*call->info)[i];
  if (!v->IsString())
    return ArgTypeError(env, call, i, "a string");
  Local<v8::String> s = v.As<v8::String>();
  size_t n = static_cast<size_t>(s->Utf8Length(env->isolate));
  char *buf = static_cast<char *>(malloc(n + 1));
  if (buf == nullptr) {
    env->isolate->ThrowException(v8::Exception::RangeError(dv8::Str(
        env->isolate, call->fn->name + ": out of memory copying a string")));
    return Pending(env, UV_ENOMEM);
  }
  s->WriteUtf8(env->isolate, buf, static_cast<int>(n + 1), nullptr,
               v8::String::REPLACE_INVALID_UTF8);
  buf[n] = '\0';
  *out = buf;
  if (len != nullptr)
    *len = n;
  return 0;
}

int BufferData(Local<Value> v, void **data, size_t *len) {
  if (v->IsArrayBufferView()) {
    Local<v8::ArrayBufferView> view = v.As<v8::ArrayBufferView>();
    char *base = static_cast<char *>(view->Buffer()->Data());
    *data = base == nullptr ? nullptr : base + view->ByteOffset();
    *len = view->ByteLength();
    return 0;
  }
  if (v->IsArrayBuffer()) {
    Local<v8::ArrayBuffer> ab = v.As<v8::ArrayBuffer>();
    *data = ab->Data();
    *len = ab->ByteLength();
    return 0;
  }
  if (v->IsSharedArrayBuffer()) {
    Local<v8::SharedArrayBuffer> ab = v.As<v8::SharedArrayBuffer>();
    *data = ab->GetBackingStore()->Data();
    *len = ab->ByteLength();
    return 0;
  }
  return DV8_ETYPE;
}

int ApiArgBuffer(dv8_env_t *env, dv8_call_t *call, int i, void **data,
                 size_t *len) {
  if (BufferData((*call->info)[i], data, len) != 0)
    return ArgTypeError(env, call, i, "an ArrayBuffer or a typed array");
  return 0;
}

int ApiArgFunction(dv8_env_t *env, dv8_call_t *call, int i, dv8_value_t *out) {
  Local<Value> v = (*call->info)[i];
  if (!v->IsFunction())
    return ArgTypeError(env, call, i, "a function");
  *out = ToC(v);
  return 0;
}

int ApiArgObject(dv8_env_t *env, dv8_call_t *call, int i, dv8_value_t *out) {
  Local<Value> v = (*call->info)[i];
  if (!v->IsObject())
    return ArgTypeError(env, call, i, "an object");
  *out = ToC(v);
  return 0;
}

// ---- values ----

dv8_type_t ApiTypeOf(dv8_env_t *, dv8_value_t value) {
  Local<Value> v = ToV8(value);
  if (v.IsEmpty() || v->IsUndefined())
    return DV8_TYPE_UNDEFINED;
  if (v->IsNull())
    return DV8_TYPE_NULL;
  if (v->IsBoolean())
    return DV8_TYPE_BOOLEAN;
  if (v->IsNumber())
    return DV8_TYPE_NUMBER;
  if (v->IsBigInt())
    return DV8_TYPE_BIGINT;
  if (v->IsString())
    return DV8_TYPE_STRING;
  if (v->IsSymbol())
    return DV8_TYPE_SYMBOL;
  if (v->IsFunction())
    return DV8_TYPE_FUNCTION;
  if (v->IsArray())
    return DV8_TYPE_ARRAY;
  if (v->IsArrayBuffer() || v->IsSharedArrayBuffer())
    return DV8_TYPE_ARRAYBUFFER;
  if (v->IsArrayBufferView())
    return DV8_TYPE_TYPEDARRAY;
  return DV8_TYPE_OBJECT;
}

double ApiToNumber(dv8_env_t *, dv8_value_t value) {
  Local<Value> v = ToV8(value);
  if (v.IsEmpty() || !v->IsNumber())
    return NAN;
  return v.As<v8::Number>()->Value();
}

int ApiToBool(dv8_env_t *env, dv8_value_t value) {
  Local<Value> v = ToV8(value);
  return !v.IsEmpty() && v->BooleanValue(env->isolate);
}

size_t ApiToUtf8(dv8_env_t *env, dv8_value_t value, char *buf, size_t cap) {
  Local<Value> v = ToV8(value);
  Local<v8::String> s;
  if (v.IsEmpty() || !v->ToString(Ctx(env)).ToLocal(&s)) {
    if (!v.IsEmpty())
      env->exception_pending = true;
    if (cap > 0)
      buf[0] = '\0';
    return 0;
  }
  size_t need = static_cast<size_t>(s->Utf8Length(env->isolate));
  if (cap == 0)
    return need;
  int written = s->WriteUtf8(
      env->isolate, buf, static_cast<int>(cap - 1), nullptr,
      v8::String::REPLACE_INVALID_UTF8 | v8::String::NO_NULL_TERMINATION);
  buf[written] = '\0';
  return need;
}

int ApiBufferData(dv8_env_t *, dv8_value_t value, void **data, size_t *len) {
  Local<Value> v = ToV8(value);
  if (v.IsEmpty())
    return DV8_ETYPE;
  return BufferData(v, data, len);
}

dv8_value_t ApiUndefined(dv8_env_t *env) {
  return ToC(v8::Undefined(env->isolate));
}

dv8_value_t ApiNull(dv8_env_t *env) { return ToC(v8::Null(env->isolate)); }

dv8_value_t ApiBoolean(dv8_env_t *env, int b) {
  return ToC(v8::Boolean::New(env->isolate, b != 0));
}

dv8_value_t ApiNumber(dv8_env_t *env, double n) {
  return ToC(v8::Number::New(env->isolate, n));
}

dv8_value_t ApiBigInt(dv8_env_t *env, int64_t n) {
  return ToC(v8::BigInt::New(env->isolate, n));
}

dv8_value_t ApiString(dv8_env_t *env, const char *s, size_t len) {
  if (len == SIZE_MAX)
    len = strlen(s);
  if (len > static_cast<size_t>(v8::String::kMaxLength))
    return nullptr;
  Local<v8::String> out;
  if (!v8::String::NewFromUtf8(env->isolate, s, v8::NewStringType::kNormal,
                               static_cast<int>(len))
           .ToLocal(&out))
    return nullptr;
  return ToC(out);
}

dv8_value_t ApiObject(dv8_env_t *env) {
  return ToC(v8::Object::New(env->isolate));
}

dv8_value_t ApiArray(dv8_env_t *env, uint32_t n) {
  return ToC(v8::Array::New(env->isolate, static_cast<int>(n)));
}

void FreeBackingStore(void *data, size_t, void *) { free(data); }

dv8_value_t ApiArrayBuffer(dv8_env_t *env, size_t len, void **data) {
  // ArrayBuffer::New treats a failed allocation as fatal; size comes from
  // outside, so the memory is allocated here and a failure is a RangeError.
  // Past the runtime's memory limit (after a GC), the runtime ends of it.
  void *mem =
      dv8::MemoryAllows(env->rt, len) ? calloc(1, len > 0 ? len : 1) : nullptr;
  if (mem == nullptr)
    return ThrowRangeError(env, "cannot allocate an ArrayBuffer of %zu bytes",
                           len);
  std::unique_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(mem, len, FreeBackingStore, nullptr);
  if (data != nullptr)
    *data = mem;
  return ToC(v8::ArrayBuffer::New(env->isolate, std::move(store)));
}

struct ExternalFree {
  dv8_finalize_cb free_cb;
  void *hint;
};

void OnExternalFree(void *data, size_t, void *deleter_data) {
  auto *ef = static_cast<ExternalFree *>(deleter_data);
  ef->free_cb(data, ef->hint);
  delete ef;
}

dv8_value_t ApiArrayBufferExternal(dv8_env_t *env, void *data, size_t len,
                                   dv8_finalize_cb free_cb, void *hint) {
  std::unique_ptr<v8::BackingStore> store;
  if (free_cb == nullptr) {
    store = v8::ArrayBuffer::NewBackingStore(
        data, len, v8::BackingStore::EmptyDeleter, nullptr);
  } else {
    auto *ef = new (std::nothrow) ExternalFree{free_cb, hint};
    if (ef == nullptr)
      return nullptr;
    store = v8::ArrayBuffer::NewBackingStore(data, len, OnExternalFree, ef);
  }
  return ToC(v8::ArrayBuffer::New(env->isolate, std::move(store)));
}

dv8_value_t ApiUint8Array(dv8_env_t *env, dv8_value_t buf, size_t offset,
                          size_t len) {
  Local<Value> v = ToV8(buf);
  if (v.IsEmpty() || !v->IsArrayBuffer())
    return ThrowTypeError(env, "uint8array: not an ArrayBuffer");
  Local<v8::ArrayBuffer> ab = v.As<v8::ArrayBuffer>();
  if (offset > ab->ByteLength() || len > ab->ByteLength() - offset)
    return ThrowRangeError(env, "uint8array: range outside the buffer");
  return ToC(v8::Uint8Array::New(ab, offset, len));
}

// ---- errors ----

dv8_value_t ApiError(dv8_env_t *env, int code, const char *what) {
  v8::Isolate *isolate = env->isolate;
  std::string msg = std::string(dv8_err_name(code)) + ": " + dv8_strerror(code);
  if (what != nullptr && what[0] != '\0')
    msg += std::string(", ") + what;
  Local<v8::Object> err =
      v8::Exception::Error(dv8::Str(isolate, msg)).As<v8::Object>();
  Local<v8::Context> context = Ctx(env);
  err->Set(context, dv8::Str(isolate, "code"),
           dv8::Str(isolate, dv8_err_name(code)))
      .Check();
  err->Set(context, dv8::Str(isolate, "errno"), v8::Integer::New(isolate, code))
      .Check();
  return ToC(err);
}

dv8_value_t ApiThrowError(dv8_env_t *env, int code, const char *what) {
  env->isolate->ThrowException(ToV8(ApiError(env, code, what)));
  env->exception_pending = true;
  return nullptr;
}

// ---- references and calls from outside JS ----

dv8_ref_t *ApiRefNew(dv8_env_t *env, dv8_value_t v) {
  auto *g = new (std::nothrow) v8::Global<Value>(env->isolate, ToV8(v));
  return reinterpret_cast<dv8_ref_t *>(g);
}

dv8_value_t ApiRefGet(dv8_env_t *env, dv8_ref_t *ref) {
  if (ref == nullptr) // ref_new found no memory: the value is gone
    return ToC(v8::Undefined(env->isolate));
  auto *g = reinterpret_cast<v8::Global<Value> *>(ref);
  return ToC(g->Get(env->isolate));
}

void ApiRefFree(dv8_ref_t *ref) {
  delete reinterpret_cast<v8::Global<Value> *>(ref);
}

// No Isolate::Scope: each runtime thread enters its isolate once for its
// whole life (dv8__isolate_new), and this is on the hot path of every event.
struct Scope {
  v8::HandleScope handle_scope;
  v8::Context::Scope context_scope;
  explicit Scope(dv8_env_t *env)
      : handle_scope(env->isolate),
        context_scope(env->context.Get(env->isolate)) {}
};
static_assert(sizeof(Scope) <= sizeof(dv8_scope_t), "dv8_scope_t too small");
static_assert(alignof(Scope) <= alignof(dv8_scope_t), "dv8_scope_t align");

void ApiScopeOpen(dv8_env_t *env, dv8_scope_t *scope) {
  new (scope->priv) Scope(env);
}

void ApiScopeClose(dv8_env_t *env, dv8_scope_t *scope) {
  // Microtasks queued by the callback run before control returns to the
  // loop, as they do in browsers and node.
  if (env->native_depth == 0)
    dv8::RunMicrotasks(env);
  reinterpret_cast<Scope *>(scope->priv)->~Scope();
}

int ApiCall(dv8_env_t *env, dv8_value_t fn, dv8_value_t recv, int argc,
            dv8_value_t *argv, dv8_value_t *result) {
  if (env->rt->stopping)
    return DV8_EEXCEPTION;
  // Events posted before this call reach JS before it.
  if (env->native_depth == 0)
    dv8::DeliverPosted(env->rt->isolate);
  Local<Value> f = ToV8(fn);
  if (f.IsEmpty() || !f->IsFunction())
    return DV8_ETYPE;
  Local<Value> r =
      recv != nullptr ? ToV8(recv) : v8::Undefined(env->isolate).As<Value>();
  v8::TryCatch try_catch(env->isolate);
  Local<Value> out;
  static_assert(sizeof(dv8_value_t) == sizeof(Local<Value>), "layout");
  if (!f.As<v8::Function>()
           ->Call(Ctx(env), r, argc, reinterpret_cast<Local<Value> *>(argv))
           .ToLocal(&out)) {
    if (env->native_depth > 0 && !try_catch.HasTerminated()) {
      try_catch.ReThrow();
      env->exception_pending = true;
    } else {
      dv8::ReportUncaught(env, try_catch);
    }
    return DV8_EEXCEPTION;
  }
  // A native function called by fn may have thrown what fn caught.
  env->exception_pending = false;
  if (result != nullptr)
    *result = ToC(out);
  return 0;
}

// ---- native pointers on JS objects ----

void Unlink(dv8::Wrapped *w) {
  if (w->prev != nullptr)
    w->prev->next = w->next;
  else
    w->env->wrapped = w->next;
  if (w->next != nullptr)
    w->next->prev = w->prev;
}

void OnWrappedCollected(const v8::WeakCallbackInfo<dv8::Wrapped> &info) {
  dv8::Wrapped *w = info.GetParameter();
  w->object.Reset();
  Unlink(w);
  if (w->finalize != nullptr)
    w->finalize(w->ptr, w->hint);
  delete w;
}

dv8_value_t ApiWrap(dv8_env_t *env, void *ptr, dv8_finalize_cb finalize,
                    void *hint) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::ObjectTemplate> tmpl =
      dv8::IsolateOf(isolate)->wrap_template.Get(isolate);
  Local<v8::Object> obj;
  if (!tmpl->NewInstance(Ctx(env)).ToLocal(&obj))
    return Pending<dv8_value_t>(env, nullptr);
  auto *w = new dv8::Wrapped{
      nullptr, env->wrapped, env, v8::Global<v8::Object>(isolate, obj),
      ptr,     finalize,     hint};
  if (env->wrapped != nullptr)
    env->wrapped->prev = w;
  env->wrapped = w;
  w->object.SetWeak(w, OnWrappedCollected, v8::WeakCallbackType::kParameter);
  obj->SetAlignedPointerInInternalField(0, w);
  obj->SetAlignedPointerInInternalField(1, const_cast<char *>(dv8::kWrapTag));
  return ToC(obj);
}

void *ApiUnwrap(dv8_env_t *env, dv8_value_t value) {
  Local<Value> v = ToV8(value);
  if (v.IsEmpty() || !v->IsObject())
    return nullptr;
  Local<v8::Object> obj = v.As<v8::Object>();
  // Only objects made from our template carry the tag: other objects with
  // internal fields (V8's own) hold something else there.
  if (obj->InternalFieldCount() != 2 ||
      obj->GetAlignedPointerFromInternalField(1) != &dv8::kWrapTag)
    return nullptr;
  auto *w =
      static_cast<dv8::Wrapped *>(obj->GetAlignedPointerFromInternalField(0));
  if (w == nullptr || w->env != env)
    return nullptr;
  return w->ptr;
}

// ---- handles ----

int ApiHandleRegister(dv8_env_t *env, dv8_handle_t *h,
                      const dv8_handle_type_t *type, uv_handle_t *uv) {
  return dv8__handle_register(env->rt, env, h, type, uv);
}

// A handle an upgrade handed to the new process is no longer the code's
// here (it is only flushed): ids do not find it.
static dv8_handle_t *FindHere(dv8_runtime_t *rt, uint64_t id) {
  dv8_handle_t *h = dv8__handles_find(&rt->handles, id);
  return h != nullptr && !(DV8_HEAD(h)->flags & DV8_HANDLE_AWAY) ? h : nullptr;
}

dv8_handle_t *ApiHandleFind(dv8_env_t *env, uint64_t id) {
  return FindHere(env->rt, id);
}

dv8_value_t ApiHandleCounters(dv8_env_t *env, dv8_handle_t *h) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = Ctx(env);
  Local<v8::Object> obj = v8::Object::New(isolate);
  const uint64_t *counters = DV8_HEAD(h)->counters;
#define DV8_SET_COUNTER(name, js)                                              \
  obj->Set(context, dv8::Str(isolate, #js),                                    \
           v8::Number::New(isolate,                                            \
                           static_cast<double>(counters[DV8_COUNTER_##name]))) \
      .Check();
  DV8_COUNTER_MAP(DV8_SET_COUNTER)
#undef DV8_SET_COUNTER
  return ToC(obj);
}

uint64_t ApiHandleId(const dv8_handle_t *h) {
  return DV8_HEAD(const_cast<dv8_handle_t *>(h))->id;
}

dv8_env_t *ApiHandleEnv(const dv8_handle_t *h) {
  return DV8_HEAD(const_cast<dv8_handle_t *>(h))->env;
}

const dv8_handle_type_t *ApiHandleType(const dv8_handle_t *h) {
  return DV8_HEAD(const_cast<dv8_handle_t *>(h))->type;
}

uint64_t *ApiCounters(dv8_handle_t *h) { return DV8_HEAD(h)->counters; }

// Argument i as an integral double from lo to hi: 0, or DV8_ETYPE with a
// TypeError or RangeError thrown (what: "an integer", "a handle id").
int ArgIntegral(dv8_env_t *env, dv8_call_t *call, int i, double lo, double hi,
                const char *what, double *out) {
  Local<Value> v = (*call->info)[i];
  if (!v->IsNumber())
    return ArgTypeError(env, call, i, what);
  double d = v.As<v8::Number>()->Value();
  if (!(d >= lo && d <= hi) || d != std::trunc(d)) {
    v8::String::Utf8Value text(env->isolate, v);
    ThrowRangeError(env,
                    "%s: argument %d must be %s from %.0f to %.0f (got %s)",
                    call->fn->name.c_str(), i + 1, what, lo, hi,
                    *text != nullptr ? *text : "?");
    return DV8_ETYPE;
  }
  *out = d;
  return 0;
}

int ApiArgInteger(dv8_env_t *env, dv8_call_t *call, int i, int64_t min,
                  int64_t max, int64_t *out) {
  // Bounds as doubles, pulled inside the int64 range so that the cast of
  // any accepted value is defined (2^63 itself is not an int64).
  double lo = std::max(static_cast<double>(min), -9223372036854774784.0);
  double hi = std::min(static_cast<double>(max), 9223372036854774784.0);
  double d;
  if (ArgIntegral(env, call, i, lo, hi, "an integer", &d))
    return DV8_ETYPE;
  int64_t n = static_cast<int64_t>(d);
  *out = n < min ? min : n > max ? max : n; // rounding at the very ends
  return 0;
}

int ApiArgHandle(dv8_env_t *env, dv8_call_t *call, int i,
                 const dv8_handle_type_t *type, dv8_handle_t **out) {
  double d;
  if (ArgIntegral(env, call, i, 1, static_cast<double>(DV8_HANDLE_ID_MAX),
                  "a handle id", &d))
    return DV8_ETYPE;
  dv8_handle_t *h = FindHere(env->rt, static_cast<uint64_t>(d));
  if (h == nullptr || (type != nullptr && DV8_HEAD(h)->type != type))
    return DV8_ECLOSED;
  *out = h;
  return 0;
}

// ---- callback slots ----

struct SlotValue {
  v8::Global<Value> value;
  void *data = nullptr; // a buffer's memory, when the value is one
  size_t len = 0;
  bool buffer = false;

  void Set(v8::Isolate *isolate, Local<Value> v) {
    value.Reset(isolate, v);
    buffer = BufferData(v, &data, &len) == 0;
  }
  void Clear() {
    value.Reset();
    buffer = false;
    data = nullptr;
    len = 0;
  }
};

} // namespace

// A handle's slots: the live values, for the context driving it, and what
// the code a reload is loading bound (pending_env), swapped in at commit.
struct dv8::Slots {
  SlotValue live[DV8_SLOTS];
  SlotValue pending[DV8_SLOTS];
  dv8_env_t *pending_env = nullptr;
};

namespace {

dv8::Slots *SlotsOf(dv8_handle_t *h, bool make) {
  dv8_head_t *hh = DV8_HEAD(h);
  if (hh->slots == nullptr && make)
    hh->slots = new (std::nothrow) dv8::Slots();
  return static_cast<dv8::Slots *>(hh->slots);
}

void ReleaseSlots(void *slots) { delete static_cast<dv8::Slots *>(slots); }

int ApiSlotSet(dv8_env_t *env, dv8_handle_t *h, unsigned slot,
               dv8_value_t value) {
  if (slot >= DV8_SLOTS)
    return UV_EINVAL;
  Local<Value> v = value != nullptr ? ToV8(value) : Local<Value>();
  bool unbind = v.IsEmpty() || v->IsNullOrUndefined();
  dv8::Slots *s = SlotsOf(h, !unbind);
  if (s == nullptr)
    return unbind ? 0 : UV_ENOMEM;
  SlotValue *target;
  if (env == DV8_HEAD(h)->env) {
    target = &s->live[slot];
  } else {
    // Code a reload is loading: its bindings wait for the commit, and a
    // newer attempt's replace an older one's.
    if (s->pending_env != env) {
      for (SlotValue &p : s->pending)
        p.Clear();
      s->pending_env = env;
    }
    target = &s->pending[slot];
  }
  if (unbind)
    target->Clear();
  else
    target->Set(env->isolate, v);
  return 0;
}

int ApiSlotBound(dv8_handle_t *h, unsigned slot) {
  if (DV8_HEAD(h)->flags & DV8_HANDLE_AWAY) // its events are the new process's
    return 0;
  dv8::Slots *s = SlotsOf(h, false);
  return s != nullptr && slot < DV8_SLOTS && !s->live[slot].value.IsEmpty();
}

dv8_value_t ApiSlotGet(dv8_handle_t *h, unsigned slot) {
  v8::Isolate *isolate = DV8_HEAD(h)->env->isolate;
  dv8::Slots *s = SlotsOf(h, false);
  if (s == nullptr || slot >= DV8_SLOTS || s->live[slot].value.IsEmpty())
    return ToC(v8::Undefined(isolate));
  return ToC(s->live[slot].value.Get(isolate));
}

int ApiSlotBuffer(dv8_handle_t *h, unsigned slot, void **data, size_t *len) {
  dv8::Slots *s = SlotsOf(h, false);
  if (s == nullptr || slot >= DV8_SLOTS || !s->live[slot].buffer)
    return DV8_ETYPE;
  *data = s->live[slot].data;
  *len = s->live[slot].len;
  return 0;
}

int ApiSlotEmit(dv8_handle_t *h, unsigned slot, int argc, const double *argv) {
  if (!ApiSlotBound(h, slot))
    return DV8_ECLOSED;
  dv8_env_t *env = DV8_HEAD(h)->env;
  if (env->native_depth == 0) {
    dv8::DeliverPosted(env->rt->isolate);
    if (!ApiSlotBound(h, slot)) // what they ran may have unbound it
      return DV8_ECLOSED;
  }
  constexpr int kMaxArgs = 8;
  if (argc < 0 || argc > kMaxArgs)
    return UV_EINVAL;
  dv8_scope_t scope;
  ApiScopeOpen(env, &scope);
  dv8_value_t args[kMaxArgs];
  for (int i = 0; i < argc; i++)
    args[i] = ToC(v8::Number::New(env->isolate, argv[i]));
  int err = ApiCall(env, ApiSlotGet(h, slot), nullptr, argc, args, nullptr);
  ApiScopeClose(env, &scope);
  return err;
}

// ---- metrics (ABI 6) ----

uint64_t *ApiMetricCounter(dv8_env_t *env, const char *name, const char *help) {
  return env == nullptr ? nullptr : dv8__metrics_counter(env->rt, name, help);
}

// ---- turn hook (ABI 7) ----

int ApiTurnHook(dv8_env_t *env, dv8_value_t fn) {
  Local<Value> v = ToV8(fn);
  if (v->IsUndefined()) {
    env->turn_hook.Reset();
    return 0;
  }
  if (!v->IsFunction())
    return DV8_ETYPE;
  env->turn_hook.Reset(env->isolate, v.As<v8::Function>());
  return 0;
}

void ApiTurnArm(dv8_env_t *env, int always) {
  if (always == 0)
    env->turn_armed = true;
  else
    env->turn_always = always > 0;
}

// ---- posted events (ABI 4) ----

int ApiSlotPost(dv8_handle_t *h, unsigned slot, double value) {
  if (!ApiSlotBound(h, slot))
    return DV8_ECLOSED;
  dv8_isolate_t *iso = dv8::IsolateOf(DV8_HEAD(h)->env->isolate);
  iso->posted.push_back({h, slot, value});
  DV8_HEAD(h)->flags |= DV8_HANDLE_POSTED;
  return 0;
}

int ApiSlotPosted(dv8_handle_t *h) {
  return (DV8_HEAD(h)->flags & DV8_HANDLE_POSTED) != 0;
}

// Services: few, set once by a module's init, read by other modules.
struct Service {
  std::string name;
  int version;
  const void *table;
};
std::mutex services_mutex;
std::vector<Service> services;

int ApiServiceSet(const char *name, int version, const void *table) {
  std::lock_guard<std::mutex> lock(services_mutex);
  for (const Service &s : services)
    if (s.name == name)
      return s.version == version && s.table == table ? 0 : UV_EEXIST;
  if (services.size() >= 64)
    return UV_ENOSPC;
  services.push_back({name, version, table});
  return 0;
}

const void *ApiServiceGet(const char *name, int version) {
  std::lock_guard<std::mutex> lock(services_mutex);
  for (const Service &s : services)
    if (s.name == name && s.version == version)
      return s.table;
  return nullptr;
}

void ApiPostedDeliver(dv8_env_t *env) {
  if (env->native_depth == 0)
    dv8::DeliverPosted(env->rt->isolate);
}

// The first entry of the batch being given to JS that JS has not reached.
size_t Unreached(dv8_isolate_t *iso) {
  if (iso->run_env == nullptr || iso->run_env->deliver_at == nullptr)
    return iso->run_begin;
  return iso->run_begin + static_cast<size_t>(iso->run_env->deliver_at[0]) + 1;
}

// A handle closing: its events go, and one in the batch JS is being given
// is taken out of the array, unless JS has reached it.
// (h's env may be a retired context's, gone: rt is the handle's loop's.)
void DropPosted(dv8_runtime_t *rt, dv8_handle_t *h) {
  dv8_isolate_t *iso = rt->isolate;
  if (iso == nullptr)
    return;
  auto &posted = iso->posted;
  for (size_t i = 0; i < posted.size();)
    if (posted[i].h == h)
      posted.erase(posted.begin() + static_cast<long>(i));
    else
      i++;
  DV8_HEAD(h)->flags &= ~DV8_HANDLE_POSTED;
  if (!iso->delivering)
    return;
  size_t reached = Unreached(iso);
  for (size_t i = 0; i < iso->batch.size(); i++) {
    if (iso->batch[i].h != h)
      continue;
    iso->batch[i].h = nullptr;
    // In the call under way: deliver skips it.
    if (i >= reached && i < iso->run_end && iso->run_env != nullptr)
      iso->run_env->deliver_at[1 + (i - iso->run_begin)] = 1;
  }
}

// ---- ABI 3 ----

int ApiExceptionPending(dv8_env_t *env) { return env->exception_pending; }

void *ApiRuntimeData(dv8_env_t *env, const void *key, size_t size,
                     void (*destroy)(void *)) {
  return dv8__runtime_data(env->rt, key, size, destroy);
}

} // namespace

namespace dv8 {

v8::MaybeLocal<v8::Function> NewFunction(dv8_env_t *env, const char *name,
                                         dv8_function_cb fn, void *data) {
  auto nf = std::make_unique<NativeFunction>(
      NativeFunction{env, fn, data, std::string(name)});
  v8::Isolate *isolate = env->isolate;
  Local<v8::External> ext = v8::External::New(isolate, nf.get());
  Local<v8::Function> f;
  if (!v8::Function::New(Ctx(env), Trampoline, ext, 0,
                         v8::ConstructorBehavior::kThrow)
           .ToLocal(&f))
    return v8::MaybeLocal<v8::Function>();
  f->SetName(Str(isolate, name));
  env->functions.push_back(std::move(nf));
  return f;
}

void InitSlots() {
  dv8__slots_release = ReleaseSlots;
  dv8__posted_drop = DropPosted;
}

namespace {

// Pairs per call of bootstrap's deliver: its parameters, so that a call
// allocates nothing (a list would be garbage per batch).
constexpr size_t kChunk = 8;

// Gives JS the batch's entries [begin, end), all of env's and at most
// kChunk: one call of deliver(n, fn0, value0, fn1, value1...). A handler
// that throws is reported as uncaught, as a direct call's would be; the
// rest go on if the runtime does (the REPL).
void DeliverChunk(dv8_isolate_t *iso, dv8_env_t *env, size_t begin,
                  size_t end) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  int n = static_cast<int>(end - begin);
  Local<Value> argv[1 + 2 * kChunk];
  argv[0] = v8::Integer::New(isolate, n);
  int argc = 1;
  for (size_t i = begin; i < end; i++) {
    const dv8::Posted &p = iso->batch[i];
    dv8::Slots *s = p.h != nullptr ? SlotsOf(p.h, false) : nullptr;
    Local<Value> fn;
    if (s != nullptr && !s->live[p.slot].value.IsEmpty())
      fn = s->live[p.slot].value.Get(isolate);
    argv[argc++] = !fn.IsEmpty() && fn->IsFunction()
                       ? fn
                       : v8::Undefined(isolate).As<Value>();
    argv[argc++] = v8::Number::New(isolate, p.value);
  }
  int32_t *at = env->deliver_at;
  for (size_t k = 0; k <= kChunk; k++)
    at[k] = 0;
  iso->run_begin = begin;
  iso->run_end = end;
  iso->run_env = env;
  Local<v8::Function> deliver = env->deliver.Get(isolate);
  while (!env->rt->stopping) {
    v8::TryCatch try_catch(isolate);
    if (!deliver->Call(context, v8::Undefined(isolate), argc, argv).IsEmpty())
      break;
    dv8::ReportUncaught(env, try_catch);
    if (++at[0] >= n)
      break;
  }
  iso->run_env = nullptr;
  dv8::RunMicrotasks(env);
}

} // namespace

bool PostedWaiting(dv8_handle_t *h) {
  dv8_isolate_t *iso = DV8_HEAD(h)->env->rt->isolate;
  if (iso == nullptr)
    return false;
  for (const dv8::Posted &p : iso->posted)
    if (p.h == h)
      return true;
  if (iso->delivering)
    for (size_t i = Unreached(iso); i < iso->batch.size(); i++)
      if (iso->batch[i].h == h)
        return true;
  return false;
}

void DeliverPosted(dv8_isolate_t *iso) {
  if (iso == nullptr || iso->delivering || iso->posted.empty())
    return;
  iso->delivering = true;
  while (!iso->posted.empty()) {
    iso->batch.swap(iso->posted);
    // Given to JS now (or dropped, if the runtime stops): reads may use
    // their memory again once this returns.
    for (const dv8::Posted &p : iso->batch)
      if (p.h != nullptr)
        DV8_HEAD(p.h)->flags &= ~DV8_HANDLE_POSTED;
    size_t i = 0, n = iso->batch.size();
    while (i < n) {
      if (iso->batch[i].h == nullptr) {
        i++;
        continue;
      }
      dv8_env_t *env = DV8_HEAD(iso->batch[i].h)->env;
      size_t end = i + 1;
      while (end < n && end - i < kChunk &&
             (iso->batch[end].h == nullptr ||
              DV8_HEAD(iso->batch[end].h)->env == env))
        end++;
      if (env->rt->stopping || env->deliver.IsEmpty())
        break;
      DeliverChunk(iso, env, i, end);
      i = end;
    }
    iso->batch.clear();
    if (iso->isolate != nullptr && dv8::RuntimeOf(iso->isolate)->stopping) {
      iso->posted.clear();
      break;
    }
  }
  iso->delivering = false;
}

dv8_handle_t *HandleOf(dv8_runtime_t *rt, Local<Value> id) {
  if (!id->IsNumber())
    return nullptr;
  double d = id.As<v8::Number>()->Value();
  if (!(d >= 1 && d <= static_cast<double>(DV8_HANDLE_ID_MAX)) ||
      d != std::trunc(d))
    return nullptr;
  return FindHere(rt, static_cast<uint64_t>(d));
}

void FinalizeWraps(dv8_env_t *env) {
  while (env->wrapped != nullptr) {
    Wrapped *w = env->wrapped;
    env->wrapped = w->next;
    w->object.Reset();
    if (w->finalize != nullptr)
      w->finalize(w->ptr, w->hint);
    delete w;
  }
}

} // namespace dv8

extern "C" const dv8_api_t dv8__api_table = {
    DV8_ABI_VERSION,
    sizeof(dv8_api_t),
    ApiLoop,
    ApiSetFunction,
    ApiSetNumber,
    ApiSetString,
    ApiSet,
    ApiGet,
    ApiSetIndex,
    ApiGetIndex,
    ApiArgc,
    ApiArg,
    ApiThis,
    ApiCallData,
    ApiArgNumber,
    ApiArgInt64,
    ApiArgString,
    ApiArgBuffer,
    ApiArgFunction,
    ApiArgObject,
    ApiTypeOf,
    ApiToNumber,
    ApiToBool,
    ApiToUtf8,
    ApiBufferData,
    ApiUndefined,
    ApiNull,
    ApiBoolean,
    ApiNumber,
    ApiBigInt,
    ApiString,
    ApiObject,
    ApiArray,
    ApiArrayBuffer,
    ApiArrayBufferExternal,
    ApiUint8Array,
    ThrowTypeError,
    ApiError,
    ApiThrowError,
    dv8_err_name,
    dv8_strerror,
    ApiRefNew,
    ApiRefGet,
    ApiRefFree,
    ApiScopeOpen,
    ApiScopeClose,
    ApiCall,
    ApiWrap,
    ApiUnwrap,
    ApiHandleRegister,
    dv8__handle_close,
    ApiHandleFind,
    ApiHandleCounters,
    ThrowRangeError,
    ApiThrowValue,
    ApiHandleId,
    ApiHandleEnv,
    ApiHandleType,
    ApiCounters,
    ApiArgHandle,
    ApiArgInteger,
    ApiSlotSet,
    ApiSlotBound,
    ApiSlotGet,
    ApiSlotBuffer,
    ApiSlotEmit,
    ApiExceptionPending,
    ApiRuntimeData,
    ApiSlotPost,
    ApiSlotPosted,
    ApiPostedDeliver,
    ApiServiceSet,
    ApiServiceGet,
    dv8__cpu_spare,
    ApiMetricCounter,
    ApiTurnHook,
    ApiTurnArm,
};

extern "C" void dv8__slots_commit(dv8_handle_t *h, dv8_env_t *env) {
  dv8::Slots *s = SlotsOf(h, false);
  if (s == nullptr)
    return;
  bool bound = s->pending_env == env;
  for (int i = 0; i < DV8_SLOTS; i++) {
    if (bound) {
      s->live[i].value.Reset(env->isolate, s->pending[i].value);
      s->live[i].data = s->pending[i].data;
      s->live[i].len = s->pending[i].len;
      s->live[i].buffer = s->pending[i].buffer;
    } else {
      s->live[i].Clear();
    }
    s->pending[i].Clear();
  }
  s->pending_env = nullptr;
}

extern "C" void dv8__slots_clear(dv8_handle_t *h) {
  dv8::Slots *s = SlotsOf(h, false);
  if (s == nullptr)
    return;
  for (int i = 0; i < DV8_SLOTS; i++) {
    s->live[i].Clear();
    s->pending[i].Clear();
  }
  s->pending_env = nullptr;
}

extern "C" void dv8__slots_abort(dv8_handle_t *h) {
  dv8::Slots *s = SlotsOf(h, false);
  if (s == nullptr)
    return;
  for (SlotValue &p : s->pending)
    p.Clear();
  s->pending_env = nullptr;
}
