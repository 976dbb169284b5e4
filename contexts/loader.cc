// The ES module loader: files from the local file system (relative or
// absolute paths, file:// URLs) and native modules (bare names, NAME.so on
// the search path) exposed as synthetic modules.
//
// No caching across contexts (DESIGN.md): every context reads its files from
// disk again. Within one context a path is loaded once, so that the module
// graph has one instance per file, as the spec requires.
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "contexts/internal.h"

using v8::Local;
using v8::MaybeLocal;
using v8::Value;

namespace {

bool IsPathSpecifier(const std::string &spec) {
  return spec.rfind("./", 0) == 0 || spec.rfind("../", 0) == 0 ||
         spec.rfind("/", 0) == 0 || spec.rfind("file://", 0) == 0 ||
         spec == "." || spec == "..";
}

// What to use in dv8 for a module a node program imports: said when such a
// name is not a native module here, so that the error says what to do.
struct NodeName {
  const char *name;
  const char *instead;
};
const NodeName kNodeNames[] = {
    {"fs", "dv8's 'fs' (readFileSync, writeFileSync, statSync... throw "
           "Errors with .code; readFile, writeFile... return promises: "
           "modules/fs/README.md)"},
    {"fs/promises", "dv8's 'fs' (readFile, writeFile, stat, readdir... "
                    "return promises: modules/fs/README.md)"},
    {"os", "dv8's 'os' (modules/os/README.md)"},
    {"net", "dv8's 'net' (modules/net/README.md)"},
    {"child_process", "dv8's 'process' (spawn, exec: docs/processes.md)"},
    {"process", "globalThis.dv8 (args, env, pid, exit) and dv8's 'process' "
                "module (docs/processes.md)"},
    {"worker_threads", "dv8's 'thread' (docs/threads.md)"},
    {"cluster", "dv8's 'thread' or 'helper' (docs/threads.md, "
                "docs/processes.md)"},
    {"timers", "the globals setTimeout, setInterval and setImmediate"},
    {"timers/promises", "new Promise((resolve) => setTimeout(resolve, ms))"},
    {"crypto", "globalThis.crypto (getRandomValues, randomUUID)"},
    {"url", "the globals URL and URLSearchParams"},
    {"events", "the globals EventTarget and Event"},
    {"util", "dv8.inspect, TextEncoder and TextDecoder, structuredClone"},
    {"buffer", "Uint8Array with TextEncoder, TextDecoder, atob and btoa"},
    {"string_decoder", "TextDecoder with { stream: true }"},
    {"v8", "dv8's 'serdes' (docs/serdes.md) and dv8.memoryUsage()"},
    {"perf_hooks", "the global performance"},
    {"tty", "dv8's 'tty' (modules/tty/README.md)"},
};

// A hint for a bare name that is no native module: node's modules name
// their dv8 equivalent; anything else is probably an npm package.
std::string ImportHint(const std::string &spec) {
  std::string name = spec.rfind("node:", 0) == 0 ? spec.substr(5) : spec;
  for (const NodeName &n : kNodeNames)
    if (name == n.name)
      return std::string("it is node's; in dv8 use ") + n.instead;
  if (spec.rfind("node:", 0) == 0)
    return "it is node's, and dv8 has no module like it";
  return "bare names are dv8's native modules; an npm package is imported "
         "by the path of its file (import x from "
         "'./node_modules/" +
         name + "/...js')";
}

std::string ToStd(v8::Isolate *isolate, Local<Value> v);

// The names a JS layer's source exports by declaration
// (`export function name`, `export const name`, `export class name`...)
// or by list (`export { a, b as c }`), added to names. Read from the text:
// V8 tells a module's export names only once it is linked, and this is
// for a link that failed.
void LayerExports(const std::string &source, std::vector<std::string> *names) {
  auto ident = [](char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '$';
  };
  size_t at = 0;
  while ((at = source.find("export ", at)) != std::string::npos) {
    if (at > 0 && source[at - 1] != '\n') { // only at the start of a line
      at += 7;
      continue;
    }
    at += 7;
    size_t p = at;
    if (source[p] == '{') {
      size_t end = source.find('}', p);
      if (end == std::string::npos)
        break;
      std::string list = source.substr(p + 1, end - p - 1);
      size_t q = 0;
      while (q < list.size()) {
        size_t comma = list.find(',', q);
        if (comma == std::string::npos)
          comma = list.size();
        std::string item = list.substr(q, comma - q);
        size_t as = item.find(" as ");
        if (as != std::string::npos)
          item = item.substr(as + 4);
        std::string word;
        for (char c : item)
          if (ident(c))
            word += c;
        if (!word.empty() && word != "default")
          names->push_back(word);
        q = comma + 1;
      }
      at = end;
      continue;
    }
    for (const char *kw : {"async ", "function* ", "function ", "const ",
                           "let ", "var ", "class "}) {
      size_t n = strlen(kw);
      if (source.compare(p, n, kw) == 0)
        p += n;
    }
    if (p == at)
      continue; // export default, export * from
    size_t end = p;
    while (end < source.size() && ident(source[end]))
      end++;
    if (end > p)
      names->push_back(source.substr(p, end - p));
  }
}

// V8's "The requested module 'fs' does not provide an export named
// 'readFileSync'" for a native module, rewritten in place (message and
// stack) to list what the module has and, for node's names, what to use.
void ExplainMissingExport(dv8_env_t *env, Local<Value> exception) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = isolate->GetCurrentContext();
  if (!exception->IsNativeError())
    return;
  Local<v8::Object> error = exception.As<v8::Object>();
  Local<Value> message;
  if (!error->Get(context, dv8::Str(isolate, "message")).ToLocal(&message) ||
      !message->IsString())
    return;
  std::string text = ToStd(isolate, message);
  const std::string head = "The requested module '";
  const std::string mid = "' does not provide an export named '";
  size_t at = text.find(mid);
  if (text.rfind(head, 0) != 0 || at == std::string::npos ||
      text.back() != '\'')
    return;
  std::string module = text.substr(head.size(), at - head.size());
  std::string name = text.substr(at + mid.size());
  name.pop_back();
  auto found = env->native_exports.find(module);
  if (found == env->native_exports.end())
    return;
  Local<v8::Array> keys;
  if (!found->second.Get(isolate)->GetOwnPropertyNames(context).ToLocal(&keys))
    return;
  std::vector<std::string> names;
  for (uint32_t i = 0; i < keys->Length(); i++) {
    std::string key = ToStd(isolate, keys->Get(context, i).ToLocalChecked());
    // Constants (EACCES, O_RDONLY) would drown the functions.
    if (std::any_of(key.begin(), key.end(), [](char c) { return islower(c); }))
      names.push_back(key);
  }
  // A module with a JS layer (DV8_MODULE_JS) exports what the layer does:
  // the native names it re-exports, and its own.
  const char *layer =
      dv8::IsJsModule(module) ? nullptr : dv8__native_js(module.c_str());
  if (layer != nullptr)
    LayerExports(layer, &names);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string more = " (dv8's '" + module + "' has ";
  if (names.empty())
    return;
  for (size_t i = 0; i < names.size(); i++)
    more += (i ? ", " : "") + names[i];
  more += ")";
  std::string better = text + more;
  Local<Value> stack;
  std::string stack_text;
  if (error->Get(context, dv8::Str(isolate, "stack")).ToLocal(&stack) &&
      stack->IsString()) {
    stack_text = ToStd(isolate, stack);
    size_t pos = stack_text.find(text);
    if (pos != std::string::npos)
      stack_text.replace(pos, text.size(), better);
    error
        ->Set(context, dv8::Str(isolate, "stack"),
              dv8::Str(isolate, stack_text))
        .Check();
  }
  error->Set(context, dv8::Str(isolate, "message"), dv8::Str(isolate, better))
      .Check();
}

std::string Dirname(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

// Joins and normalises (".", "..", "//") without touching the file system,
// so the path in messages is the one the user wrote, made absolute.
std::string Resolve(const std::string &base_dir, const std::string &spec) {
  std::string path = spec;
  if (path.rfind("file://", 0) == 0)
    path = path.substr(7);
  if (path.empty() || path[0] != '/')
    path = base_dir + "/" + path;
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos)
      j = path.size();
    std::string part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty())
        parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto &p : parts)
    out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string Cwd() {
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof(buf)) == nullptr)
    return "/";
  return buf;
}

// Reads a whole file; returns 0 or a negative errno.
int ReadFile(const std::string &path, std::string *out) {
  FILE *f = fopen(path.c_str(), "rb");
  if (f == nullptr)
    return -errno;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    return UV_EISDIR;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    out->append(buf, n);
  int err = ferror(f) ? -errno : 0;
  fclose(f);
  return err;
}

std::string ToStd(v8::Isolate *isolate, Local<Value> v) {
  v8::String::Utf8Value u(isolate, v);
  return *u ? std::string(*u, u.length()) : std::string();
}

dv8::ModuleEntry *FindByModule(dv8_env_t *env, Local<v8::Module> module) {
  auto range = env->modules_by_hash.equal_range(module->GetIdentityHash());
  for (auto it = range.first; it != range.second; ++it)
    if (it->second->module == module)
      return it->second;
  return nullptr;
}

dv8::ModuleEntry *AddEntry(dv8_env_t *env, Local<v8::Module> module,
                           const std::string &path) {
  auto entry = std::make_unique<dv8::ModuleEntry>();
  entry->module.Reset(env->isolate, module);
  entry->path = path;
  entry->hash = module->GetIdentityHash();
  dv8::ModuleEntry *e = entry.get();
  env->modules.push_back(std::move(entry));
  env->modules_by_path[path] = e;
  env->modules_by_hash.emplace(e->hash, e);
  return e;
}

// The native module behind a name: 'net/raw' is net's native exports.
std::string RawName(const std::string &name) {
  size_t n = strlen("/raw");
  if (name.size() > n && name.compare(name.size() - n, n, "/raw") == 0)
    return name.substr(0, name.size() - n);
  return name;
}

// What a synthetic module's evaluation returns when it has succeeded: a
// promise already resolved (V8 expects one, as for top-level await).
MaybeLocal<Value> Evaluated(Local<v8::Context> context) {
  Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(context).ToLocal(&resolver))
    return MaybeLocal<Value>();
  resolver->Resolve(context, v8::Undefined(context->GetIsolate())).Check();
  return resolver->GetPromise();
}

// Synthetic modules evaluate by copying the native exports object's
// properties into the module's exports.
MaybeLocal<Value> EvaluateNative(Local<v8::Context> context,
                                 Local<v8::Module> module) {
  v8::Isolate *isolate = context->GetIsolate();
  dv8_env_t *env = dv8::EnvOf(context);
  dv8::ModuleEntry *entry = FindByModule(env, module);
  std::string name = RawName(entry->path.substr(strlen("native:")));
  Local<v8::Object> exports = env->native_exports[name].Get(isolate);
  Local<v8::Array> keys =
      exports->GetOwnPropertyNames(context).ToLocalChecked();
  for (uint32_t i = 0; i < keys->Length(); i++) {
    Local<Value> key = keys->Get(context, i).ToLocalChecked();
    Local<Value> value;
    if (!exports->Get(context, key).ToLocal(&value))
      return MaybeLocal<Value>();
    if (module->SetSyntheticModuleExport(isolate, key.As<v8::String>(), value)
            .IsNothing())
      return MaybeLocal<Value>();
  }
  if (module
          ->SetSyntheticModuleExport(isolate, dv8::Str(isolate, "default"),
                                     exports)
          .IsNothing())
    return MaybeLocal<Value>();
  return Evaluated(context);
}

MaybeLocal<v8::Module> CompileModule(dv8_env_t *env, const std::string &path,
                                     const std::string &source);

// 'NAME' is a native module's JS layer if it has one (DV8_MODULE_JS),
// compiled as a source module named dv8:NAME; 'NAME/raw', or 'NAME' without
// a layer, is a synthetic module of its native exports.
MaybeLocal<v8::Module> LoadNativeModule(dv8_env_t *env,
                                        const std::string &name) {
  std::string key = "native:" + name;
  auto found = env->modules_by_path.find(key);
  if (found != env->modules_by_path.end())
    return found->second->module.Get(env->isolate);
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Object> exports;
  std::string raw = RawName(name);
  if (!dv8::NativeExports(env, raw).ToLocal(&exports))
    return MaybeLocal<v8::Module>();
  const char *js = raw == name && !dv8::IsJsModule(name)
                       ? dv8__native_js(name.c_str())
                       : nullptr;
  if (js != nullptr) {
    Local<v8::Module> layer;
    if (!CompileModule(env, "dv8:" + name, js).ToLocal(&layer))
      return MaybeLocal<v8::Module>();
    AddEntry(env, layer, key);
    return layer;
  }
  Local<v8::Array> keys =
      exports->GetOwnPropertyNames(context).ToLocalChecked();
  std::vector<Local<v8::String>> names;
  names.push_back(dv8::Str(isolate, "default"));
  for (uint32_t i = 0; i < keys->Length(); i++) {
    Local<Value> k = keys->Get(context, i).ToLocalChecked();
    if (k->IsString() && ToStd(isolate, k) != "default")
      names.push_back(k.As<v8::String>());
  }
  Local<v8::Module> module = v8::Module::CreateSyntheticModule(
      isolate, dv8::Str(isolate, name), names, EvaluateNative);
  AddEntry(env, module, key);
  return module;
}

// "path:line:col: SyntaxError: message" for a compile error.
std::string DescribeCompileError(v8::Isolate *isolate, v8::TryCatch &try_catch,
                                 const std::string &path) {
  Local<v8::Context> context = isolate->GetCurrentContext();
  std::string where = path;
  Local<v8::Message> message = try_catch.Message();
  if (!message.IsEmpty()) {
    int line = message->GetLineNumber(context).FromMaybe(0);
    int col = message->GetStartColumn(context).FromMaybe(0);
    where += ":" + std::to_string(line) + ":" + std::to_string(col + 1);
  }
  return where + ": " + ToStd(isolate, try_catch.Exception());
}

MaybeLocal<v8::Module> CompileModule(dv8_env_t *env, const std::string &path,
                                     const std::string &source) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::String> src;
  if (!v8::String::NewFromUtf8(isolate, source.data(),
                               v8::NewStringType::kNormal,
                               static_cast<int>(source.size()))
           .ToLocal(&src)) {
    isolate->ThrowException(dv8::LoadError(isolate, path + ": file too large"));
    return MaybeLocal<v8::Module>();
  }
  v8::ScriptOrigin origin(isolate, dv8::Str(isolate, path), 0, 0, false, -1,
                          Local<Value>(), false, false, true);
  v8::ScriptCompiler::Source script_source(src, origin);
  std::string msg;
  {
    // The SyntaxError is replaced by a one-line load error, thrown once
    // this TryCatch is gone (inside it, it would be caught again).
    v8::TryCatch try_catch(isolate);
    Local<v8::Module> module;
    if (v8::ScriptCompiler::CompileModule(isolate, &script_source)
            .ToLocal(&module))
      return module;
    if (try_catch.HasTerminated()) {
      try_catch.ReThrow();
      return MaybeLocal<v8::Module>();
    }
    msg = DescribeCompileError(isolate, try_catch, path);
  }
  isolate->ThrowException(dv8::LoadError(isolate, msg));
  return MaybeLocal<v8::Module>();
}

// JSON files import as a module whose default export is the parsed value.
MaybeLocal<Value> EvaluateJson(Local<v8::Context> context,
                               Local<v8::Module> module) {
  v8::Isolate *isolate = context->GetIsolate();
  dv8_env_t *env = dv8::EnvOf(context);
  dv8::ModuleEntry *entry = FindByModule(env, module);
  Local<Value> value = env->json_values[entry->path].Get(isolate);
  if (module
          ->SetSyntheticModuleExport(isolate, dv8::Str(isolate, "default"),
                                     value)
          .IsNothing())
    return MaybeLocal<Value>();
  return Evaluated(context);
}

MaybeLocal<v8::Module> CompileJson(dv8_env_t *env, const std::string &path,
                                   const std::string &source) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = isolate->GetCurrentContext();
  std::string msg;
  {
    v8::TryCatch try_catch(isolate);
    Local<v8::String> text;
    Local<Value> value;
    if (v8::String::NewFromUtf8(isolate, source.data(),
                                v8::NewStringType::kNormal,
                                static_cast<int>(source.size()))
            .ToLocal(&text) &&
        v8::JSON::Parse(context, text).ToLocal(&value)) {
      env->json_values[path].Reset(isolate, value);
      return v8::Module::CreateSyntheticModule(isolate, dv8::Str(isolate, path),
                                               {dv8::Str(isolate, "default")},
                                               EvaluateJson);
    }
    if (try_catch.HasTerminated()) {
      try_catch.ReThrow();
      return MaybeLocal<v8::Module>();
    }
    msg = path + ": " + ToStd(isolate, try_catch.Exception());
  }
  isolate->ThrowException(dv8::LoadError(isolate, msg));
  return MaybeLocal<v8::Module>();
}

bool EndsWith(const std::string &s, const char *suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

MaybeLocal<v8::Module> LoadFileModule(dv8_env_t *env, const std::string &path,
                                      const std::string &spec,
                                      const std::string &referrer) {
  auto found = env->modules_by_path.find(path);
  if (found != env->modules_by_path.end())
    return found->second->module.Get(env->isolate);
  std::string source;
  int err = ReadFile(path, &source);
  if (err != 0) {
    std::string msg =
        std::string(err == UV_ENOENT ? "cannot find" : "cannot read") +
        " module '" + spec + "'";
    if (!referrer.empty())
      msg += " imported from " + referrer;
    if (spec != path)
      msg += " (" + path + ")";
    if (err != UV_ENOENT)
      msg += std::string(": ") + dv8_strerror(err);
    env->isolate->ThrowException(dv8::LoadError(env->isolate, msg));
    return MaybeLocal<v8::Module>();
  }
  // A #! line is allowed at the top of an entry script.
  if (source.rfind("#!", 0) == 0)
    source.replace(0, source.find('\n'), "");
  Local<v8::Module> module;
  if (!(EndsWith(path, ".json") ? CompileJson(env, path, source)
                                : CompileModule(env, path, source))
           .ToLocal(&module))
    return MaybeLocal<v8::Module>();
  AddEntry(env, module, path);
  return module;
}

MaybeLocal<v8::Module> OnResolve(Local<v8::Context> context,
                                 Local<v8::String> specifier,
                                 Local<v8::FixedArray>,
                                 Local<v8::Module> referrer) {
  dv8_env_t *env = dv8::EnvOf(context);
  dv8::ModuleEntry *entry = FindByModule(env, referrer);
  std::string from = entry != nullptr ? entry->path : Cwd() + "/[eval]";
  return dv8::LoadModule(env, ToStd(env->isolate, specifier), from);
}

// import() returns this function's result: the namespace, once the module's
// evaluation (maybe with top-level await) has settled.
void ReturnData(const v8::FunctionCallbackInfo<Value> &info) {
  info.GetReturnValue().Set(info.Data());
}

MaybeLocal<v8::Promise> OnDynamicImport(Local<v8::Context> context,
                                        Local<v8::Data>,
                                        Local<Value> resource_name,
                                        Local<v8::String> specifier,
                                        Local<v8::FixedArray>) {
  v8::Isolate *isolate = context->GetIsolate();
  dv8_env_t *env = dv8::EnvOf(context);
  std::string from =
      resource_name->IsString() ? ToStd(isolate, resource_name) : std::string();
  if (from.empty() || from[0] != '/')
    from = Cwd() + "/[eval]";
  Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(context).ToLocal(&resolver))
    return MaybeLocal<v8::Promise>();
  v8::TryCatch try_catch(isolate);
  Local<v8::Module> module;
  Local<Value> evaluated;
  if (dv8::LoadModule(env, ToStd(isolate, specifier), from).ToLocal(&module) &&
      module->InstantiateModule(context, OnResolve).FromMaybe(false) &&
      module->Evaluate(context).ToLocal(&evaluated)) {
    Local<v8::Function> then;
    if (evaluated->IsPromise() &&
        v8::Function::New(context, ReturnData, module->GetModuleNamespace())
            .ToLocal(&then))
      return evaluated.As<v8::Promise>()->Then(context, then);
    resolver->Resolve(context, module->GetModuleNamespace()).Check();
    return resolver->GetPromise();
  }
  if (try_catch.HasTerminated())
    return MaybeLocal<v8::Promise>();
  ExplainMissingExport(env, try_catch.Exception());
  resolver->Reject(context, try_catch.Exception()).Check();
  return resolver->GetPromise();
}

void OnImportMeta(Local<v8::Context> context, Local<v8::Module> module,
                  Local<v8::Object> meta) {
  v8::Isolate *isolate = context->GetIsolate();
  dv8_env_t *env = dv8::EnvOf(context);
  dv8::ModuleEntry *entry = FindByModule(env, module);
  if (entry == nullptr)
    return;
  auto set = [&](const char *key, Local<Value> value) {
    meta->CreateDataProperty(context, dv8::Str(isolate, key), value).Check();
  };
  set("url", dv8::Str(isolate, "file://" + entry->path));
  set("filename", dv8::Str(isolate, entry->path));
  set("dirname", dv8::Str(isolate, Dirname(entry->path)));
  set("main", v8::Boolean::New(isolate, entry->main));
}

} // namespace

namespace dv8 {

void InitLoader(v8::Isolate *isolate) {
  isolate->SetHostImportModuleDynamicallyCallback(OnDynamicImport);
  isolate->SetHostInitializeImportMetaObjectCallback(OnImportMeta);
}

MaybeLocal<v8::Object> NativeExports(dv8_env_t *env, const std::string &name) {
  v8::Isolate *isolate = env->isolate;
  auto found = env->native_exports.find(name);
  if (found != env->native_exports.end())
    return found->second.Get(isolate);
  if (IsJsModule(name)) {
    Local<v8::Object> exports;
    if (!JsModuleExports(env, name).ToLocal(&exports))
      return MaybeLocal<v8::Object>();
    env->native_exports[name].Reset(isolate, exports);
    return exports;
  }
  const dv8_module_t *m;
  char err[8192];
  int rc = dv8__native_load(name.c_str(), &m, err, sizeof(err));
  if (rc != 0) {
    std::string msg = err;
    if (name.rfind("node:", 0) == 0)
      msg = "cannot import '" + name + "': " + ImportHint(name);
    else if (rc == DV8_ENOMODULE)
      msg += ": " + ImportHint(name);
    isolate->ThrowException(LoadError(isolate, msg));
    return MaybeLocal<v8::Object>();
  }
  Local<v8::Object> exports = v8::Object::New(isolate);
  {
    // An init that threw has said what is wrong; its exception goes on.
    v8::TryCatch try_catch(isolate);
    rc = m->init(env, ToC(exports));
    if (try_catch.HasCaught()) {
      try_catch.ReThrow();
      return MaybeLocal<v8::Object>();
    }
  }
  if (rc != 0) {
    std::string msg = "native module '" + name +
                      "' failed to initialise: " + dv8_err_name(rc) + ": " +
                      dv8_strerror(rc);
    isolate->ThrowException(LoadError(isolate, msg));
    return MaybeLocal<v8::Object>();
  }
  env->native_exports[name].Reset(isolate, exports);
  return exports;
}

MaybeLocal<v8::Module> LoadModule(dv8_env_t *env, const std::string &spec,
                                  const std::string &referrer) {
  if (spec.rfind("http://", 0) == 0 || spec.rfind("https://", 0) == 0) {
    env->isolate->ThrowException(LoadError(
        env->isolate, "cannot import '" + spec + "' imported from " + referrer +
                          ": dv8 does not import from the network"));
    return MaybeLocal<v8::Module>();
  }
  if (!IsPathSpecifier(spec))
    return LoadNativeModule(env, spec);
  std::string path = Resolve(Dirname(referrer), spec);
  return LoadFileModule(env, path, spec, referrer);
}

void DisposeModules(dv8_env_t *env) {
  env->json_values.clear();
  env->modules_by_hash.clear();
  env->modules_by_path.clear();
  env->modules.clear();
  env->native_exports.clear();
}

} // namespace dv8

// Shared by dv8__run_main and dv8__run_eval: instantiate, evaluate, and keep
// the evaluation promise so that a pending top-level await can be checked
// when the loop ends.
static int EvaluateEntry(dv8_env_t *env, MaybeLocal<v8::Module> maybe) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = env->context.Get(isolate);
  v8::TryCatch try_catch(isolate);
  Local<v8::Module> module;
  Local<Value> result;
  if (!maybe.ToLocal(&module) ||
      !module->InstantiateModule(context, OnResolve).FromMaybe(false) ||
      !module->Evaluate(context).ToLocal(&result)) {
    if (try_catch.HasCaught() && !try_catch.HasTerminated())
      ExplainMissingExport(env, try_catch.Exception());
    if (try_catch.HasCaught() || try_catch.HasTerminated())
      dv8::ReportUncaught(env, try_catch);
    return env->rt->stopping ? env->rt->exit_code : 1;
  }
  if (result->IsPromise())
    env->main_promise.Reset(isolate, result.As<v8::Promise>());
  dv8::RunMicrotasks(env);
  return env->rt->stopping ? env->rt->exit_code : 0;
}

namespace dv8 {

int LoadMain(dv8_env_t *env, const std::string &path) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = env->context.Get(isolate);
  env->main_path = path;
  Local<v8::Module> module;
  Local<Value> result;
  if (!LoadFileModule(env, path, path, "").ToLocal(&module))
    return 1;
  FindByModule(env, module)->main = true;
  {
    v8::TryCatch try_catch(isolate);
    if (!module->InstantiateModule(context, OnResolve).FromMaybe(false)) {
      if (try_catch.HasCaught() && !try_catch.HasTerminated()) {
        ExplainMissingExport(env, try_catch.Exception());
        try_catch.ReThrow();
      }
      return 1;
    }
  }
  if (!module->Evaluate(context).ToLocal(&result))
    return 1;
  isolate->PerformMicrotaskCheckpoint();
  if (result->IsPromise()) {
    Local<v8::Promise> p = result.As<v8::Promise>();
    if (p->State() == v8::Promise::kRejected) {
      isolate->ThrowException(p->Result());
      return 1;
    }
    env->main_promise.Reset(isolate, p);
  }
  return 0;
}

} // namespace dv8

// A reloadable program's load(state, fromVersion) runs on the first start
// too, with nothing (docs/reload.md), once its top level is done: 0, or
// the exit status when it threw.
static int FirstLoad(dv8_env_t *env, Local<v8::Module> m) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = env->context.Get(isolate);
  v8::TryCatch try_catch(isolate);
  Local<Value> load;
  if (!m->GetModuleNamespace()
           .As<v8::Object>()
           ->Get(context, dv8::Str(isolate, "load"))
           .ToLocal(&load) ||
      !load->IsFunction())
    return 0;
  Local<Value> argv[] = {v8::Undefined(isolate), v8::Undefined(isolate)};
  if (load.As<v8::Function>()
          ->Call(context, v8::Undefined(isolate), 2, argv)
          .IsEmpty()) {
    dv8::ReportUncaught(env, try_catch);
    return env->rt->exit_code ? env->rt->exit_code : 1;
  }
  return 0;
}

// The entry module's top-level await settled: load() runs now (as it would
// have at once without the await).
static void OnEntryFulfilled(const v8::FunctionCallbackInfo<Value> &info) {
  dv8_env_t *env = dv8::EnvOf(info.GetIsolate()->GetCurrentContext());
  for (auto &m : env->modules)
    if (m->main)
      FirstLoad(env, m->module.Get(env->isolate));
}

// ... or failed: reported as the entry module's own failure (the handler
// attached for load() would otherwise keep it from being reported).
static void OnEntryRejected(const v8::FunctionCallbackInfo<Value> &info) {
  dv8_env_t *env = dv8::EnvOf(info.GetIsolate()->GetCurrentContext());
  dv8::ReportRejection(env, info[0], true);
}

extern "C" int dv8__run_main(dv8_env_t *env, const char *path) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  std::string abs = Resolve(Cwd(), path);
  env->main_path = abs;
  v8::TryCatch try_catch(isolate);
  MaybeLocal<v8::Module> module = LoadFileModule(env, abs, abs, "");
  if (module.IsEmpty()) {
    dv8::ReportUncaught(env, try_catch);
    return 1;
  }
  FindByModule(env, module.ToLocalChecked())->main = true;
  int status = EvaluateEntry(env, module);
  if (status != 0)
    return status;
  Local<v8::Module> m = module.ToLocalChecked();
  if (m->GetStatus() != v8::Module::kEvaluated)
    return 0;
  // A top-level await still pending (a timer, I/O): load() once it has
  // settled, not before (its top level may be setting up what load uses).
  if (!env->main_promise.IsEmpty() &&
      env->main_promise.Get(isolate)->State() == v8::Promise::kPending) {
    Local<v8::Function> fulfilled, rejected;
    if (!v8::Function::New(context, OnEntryFulfilled).ToLocal(&fulfilled) ||
        !v8::Function::New(context, OnEntryRejected).ToLocal(&rejected) ||
        env->main_promise.Get(isolate)
            ->Then(context, fulfilled, rejected)
            .IsEmpty()) {
      dv8::ReportUncaught(env, try_catch);
      return 1;
    }
    return 0;
  }
  if ((status = FirstLoad(env, m)) != 0)
    return status;
  dv8::RunMicrotasks(env);
  return env->rt->stopping ? env->rt->exit_code : 0;
}

extern "C" int dv8__run_eval(dv8_env_t *env, const char *source) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  v8::Context::Scope context_scope(env->context.Get(isolate));
  Local<v8::Module> module;
  if (!env->prepared.IsEmpty() && env->prepared_source == source) {
    module = env->prepared.Get(isolate);
    env->prepared.Reset();
    env->main_path = FindByModule(env, module)->path;
    return EvaluateEntry(env, module);
  }
  std::string name = Cwd() + "/[eval]";
  env->main_path = name;
  v8::TryCatch try_catch(isolate);
  if (!CompileModule(env, "[eval]", source).ToLocal(&module)) {
    dv8::ReportUncaught(env, try_catch);
    return 1;
  }
  AddEntry(env, module, name)->main = true;
  return EvaluateEntry(env, module);
}

extern "C" void dv8__prepare_eval(dv8_env_t *env, const char *source) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  // A failure here is met again, and reported, when the source runs: a
  // module that did not compile is compiled again, one whose imports
  // failed is instantiated again (V8 leaves it unlinked).
  v8::TryCatch try_catch(isolate);
  Local<v8::Module> module;
  if (!CompileModule(env, "[eval]", source).ToLocal(&module))
    return;
  AddEntry(env, module, Cwd() + "/[eval]")->main = true;
  if (module->InstantiateModule(context, OnResolve).IsNothing())
    try_catch.Reset();
  env->prepared.Reset(isolate, module);
  env->prepared_source = source;
}

extern "C" int dv8__finish_main(dv8_env_t *env) {
  dv8_runtime_t *rt = env->rt;
  if (rt->stopping || env->main_promise.IsEmpty())
    return rt->exit_code;
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Promise> promise = env->main_promise.Get(isolate);
  if (promise->State() == v8::Promise::kPending) {
    fprintf(stderr,
            "dv8: %s: top-level await never settled (nothing left in the "
            "event loop could resolve it)\n",
            env->main_path.c_str());
    return 13;
  }
  return rt->exit_code;
}

extern "C" int dv8__context_load(dv8_env_t *env, const char *path,
                                 char **error) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  v8::Context::Scope context_scope(env->context.Get(isolate));
  v8::TryCatch try_catch(isolate);
  if (dv8::LoadMain(env, path) == 0)
    return 0;
  std::string text = try_catch.HasCaught() && !try_catch.HasTerminated()
                         ? dv8::DescribeException(env, try_catch.Exception())
                         : "the code failed to load";
  *error = strdup(text.c_str());
  return 1;
}

extern "C" const char *dv8__context_main_path(dv8_env_t *env) {
  // [eval] and [repl] end in ']': they run from no file to read again.
  if (env == nullptr || env->repl || env->main_path.empty() ||
      env->main_path.back() == ']')
    return nullptr;
  return env->main_path.c_str();
}

extern "C" dv8_runtime_t *dv8__context_runtime(dv8_env_t *env) {
  return env->rt;
}

extern "C" void dv8__run_microtasks(dv8_env_t *env) {
  v8::HandleScope scope(env->isolate);
  v8::Context::Scope context_scope(env->context.Get(env->isolate));
  dv8::RunMicrotasks(env);
}
