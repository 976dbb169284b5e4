// libFuzzer target for serdes.decode: each input is decoded in a dv8 context
// and anything but a value or a SerdesError (another exception, a crash, a
// hang, a huge allocation) is a finding. The host's C walker
// (serdes/serdes.c, built in with coverage and AddressSanitizer) sees the
// same input and must accept whatever the decoder accepts. libFuzzer's coverage
// cannot see into JIT-compiled JS, so the harness feeds it a stand-in: each
// outcome's shape (the decoded value's types, or which check refused the input)
// is hashed into libFuzzer's extra counters, and inputs reaching new shapes are
// kept. The seeds are tests/serdes/corpus, which make test replays
// (tests/js/test-serdes-corpus.js).
//   make fuzz                 builds build/tests/fuzz/serdes-fuzz (clang)
//   build/tests/fuzz/serdes-fuzz -max_total_time=300 -rss_limit_mb=2048 \
//       -timeout=5 /tmp/new-corpus tests/serdes/corpus
#include <cstdio>
#include <cstdlib>

#include "contexts/internal.h"
#include "host/host.h"
#include "serdes/serdes.h"

namespace {

dv8_runtime_t rt;
dv8_env_t *env;
v8::Global<v8::Function> check;

// Outcome counters libFuzzer reads as coverage (see the top of the file).
__attribute__((used, section("__libfuzzer_extra_counters")))
uint8_t outcomes[1 << 14];

// Returns "ok:SHAPE" for a value, "serdes:CHECK" for a SerdesError (the
// message without its numbers), else the unexpected error.
const char kCheck[] =
    "import { decode, SerdesError } from 'serdes';\n"
    "const shape = (v, d) => {\n"
    "  if (v === null || typeof v !== 'object') return typeof v;\n"
    "  const name = v.constructor ? v.constructor.name : 'null-proto';\n"
    "  if (d > 3) return name;\n"
    "  const kids = v instanceof Map ? [...v.values()] : v instanceof Set ? "
    "[...v] : ArrayBuffer.isView(v) ? [] : Object.values(v);\n"
    "  return name + '(' + [...new Set(kids.map((k) => shape(k, d + 1)))]"
    ".sort().join(',') + ')';\n"
    "};\n"
    "const transfer = Array.from({ length: 8 }, () => new ArrayBuffer(64));\n"
    "globalThis.__fuzz = (u8) => {\n"
    "  try { return 'ok:' + shape(decode(u8, 0, undefined, { transfer }), 0); "
    "}\n"
    "  catch (e) { if (e instanceof SerdesError) return 'serdes:' + "
    "e.message.replace(/[0-9]+/g, 'N'); return String(e && e.stack || e); }\n"
    "};\n";

void Count(const char *s) {
  uint32_t h = 2166136261u; // FNV-1a
  for (; *s != 0; s++)
    h = (h ^ static_cast<uint8_t>(*s)) * 16777619u;
  uint8_t &c = outcomes[h & (sizeof(outcomes) - 1)];
  if (c < 255)
    c++;
}

void Setup(const char *exe) {
  if (dv8__v8_init(exe, nullptr) != 0)
    abort();
  static char name[] = "[fuzz]";
  static char *argv[] = {name, nullptr};
  if (dv8__runtime_init(&rt, 1, argv) != 0 || dv8__isolate_new(&rt) != 0)
    abort();
  env = dv8__context_new(&rt);
  if (env == nullptr || dv8__run_eval(env, kCheck) != 0)
    abort();
  v8::HandleScope scope(env->isolate);
  v8::Local<v8::Context> context = env->context.Get(env->isolate);
  v8::Local<v8::Value> fn = context->Global()
                                ->Get(context, dv8::Str(env->isolate, "__fuzz"))
                                .ToLocalChecked();
  check.Reset(env->isolate, fn.As<v8::Function>());
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  Setup((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, size);
  if (size > 0)
    memcpy(ab->Data(), data, size);
  v8::Local<v8::Value> arg = v8::Uint8Array::New(ab, 0, size);
  v8::Local<v8::Value> result;
  if (!check.Get(isolate)
           ->Call(context, v8::Undefined(isolate), 1, &arg)
           .ToLocal(&result)) {
    fprintf(stderr, "serdes-fuzz: the check itself threw\n");
    abort();
  }
  v8::String::Utf8Value text(isolate, result);
  if (strncmp(*text, "ok:", 3) != 0 && strncmp(*text, "serdes:", 7) != 0) {
    fprintf(stderr, "serdes-fuzz: decode threw something else:\n%s\n", *text);
    abort();
  }
  Count(*text);
  dv8_serdes_error err;
  int walked = dv8_serdes_walk(data, size, DV8_SERDES_DEFAULT_DEPTH, nullptr,
                               nullptr, &err);
  if (strncmp(*text, "ok:", 3) == 0 && walked != 0) {
    fprintf(stderr,
            "serdes-fuzz: the C walker refuses what JS decodes: %s at %zu\n",
            err.message, err.offset);
    abort();
  }
  return 0;
}
