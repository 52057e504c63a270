#include "cluster/etcd_client.h"

#include <errno.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <utility>

#include <curl/curl.h>

#include <nlohmann/json.hpp>

namespace mpp {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// An attempt shorter than this fails on a loaded machine for no reason.
constexpr int64_t kMinAttemptMs = 100;
// Nothing etcd says to us is this large; more is a wrong peer or a bug.
constexpr size_t kMaxAnswerBytes = 16 << 20;
// How long a watch waits in curl_multi_poll before it looks at stop():
// curl's own progress callback runs only once a second on an idle stream.
constexpr int kWatchPollMs = 100;

std::once_flag curl_init_once;
CURLcode curl_init_result = CURLE_OK;

void InitCurl() {
  std::call_once(curl_init_once, [] { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyFree {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using EasyHandle = std::unique_ptr<CURL, EasyFree>;

struct MultiFree {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
using MultiHandle = std::unique_ptr<CURLM, MultiFree>;

struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using HeaderList = std::unique_ptr<curl_slist, SlistFree>;

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The messages after which a new token may help: it expired, etcd restarted
// and forgot it, or auth was enabled after we found it off.
bool IsTokenRejected(const std::string& message) {
  return Contains(message, "invalid auth token") || Contains(message, "auth token is expired") ||
         Contains(message, "user name is empty");
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// etcd sends int64 as a decimal string and leaves out zeros; a number is
// read too.
bool ReadInt64(const Json& obj, const char* name, int64_t* out) {
  *out = 0;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return true;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (it->is_number_integer()) {
    *out = it->get<int64_t>();
    return true;
  }
  if (!it->is_string()) return false;
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

bool ReadBool(const Json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::string ReadString(const Json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A key or value: base64, absent when empty.
bool ReadBytes(const Json& obj, const char* name, std::string* out) {
  out->clear();
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return true;
  return it->is_string() && Base64Decode(it->get_ref<const std::string&>(), out);
}

const Json& Member(const Json& obj, const char* name) {
  static const Json kNull;
  auto it = obj.find(name);
  return it == obj.end() ? kNull : *it;
}

bool ReadKv(const Json& j, EtcdKv* kv) {
  return j.is_object() && ReadBytes(j, "key", &kv->key) && ReadBytes(j, "value", &kv->value) &&
         ReadInt64(j, "create_revision", &kv->create_revision) && ReadInt64(j, "mod_revision", &kv->mod_revision) &&
         ReadInt64(j, "version", &kv->version) && ReadInt64(j, "lease", &kv->lease);
}

bool ReadKvs(const Json& obj, std::vector<EtcdKv>* kvs) {
  kvs->clear();
  const Json& list = Member(obj, "kvs");
  if (list.is_null()) return true;
  if (!list.is_array()) return false;
  for (const Json& j : list) {
    EtcdKv kv;
    if (!ReadKv(j, &kv)) return false;
    kvs->push_back(std::move(kv));
  }
  return true;
}

bool ReadRevision(const Json& answer, int64_t* revision) {
  const Json& header = Member(answer, "header");
  if (header.is_null()) {
    *revision = 0;
    return true;
  }
  return ReadInt64(header, "revision", revision);
}

// What etcd said went wrong in an answer, or "" if it did not: the
// gateway's {"error": "...", "message": "..."} for a failed call, a
// streamed call's {"error": {"message": ...}}, or a LeaseGrant's own error
// field.
std::string AnswerError(const Json& answer) {
  const Json& error = Member(answer, "error");
  if (error.is_object()) {
    std::string m = ReadString(error, "message");
    return m.empty() ? Dump(error) : m;
  }
  std::string m = ReadString(answer, "message");
  if (!m.empty()) return m;
  return error.is_string() ? error.get<std::string>() : std::string();
}

// The error of an answer that is not 200 OK.
std::string StatusError(long status, const std::string& body) {
  Json answer = Json::parse(body, nullptr, false);
  std::string m = answer.is_discarded() ? std::string() : AnswerError(answer);
  if (!m.empty()) return m;
  std::string text = body.substr(0, 200);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return "HTTP status " + std::to_string(status) + (text.empty() ? "" : ": " + text);
}

// etcd's range_end for "every key that starts with prefix": the prefix with
// its last byte that is not 0xff incremented, or "\0" (to the end) if there
// is none.
std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    unsigned char c = static_cast<unsigned char>(end.back());
    if (c != 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

const char* CompareTarget(EtcdCompare::Target t) {
  switch (t) {
    case EtcdCompare::kCreateRevision: return "CREATE";
    case EtcdCompare::kModRevision: return "MOD";
    case EtcdCompare::kVersion: return "VERSION";
    case EtcdCompare::kValue: return "VALUE";
    case EtcdCompare::kLease: return "LEASE";
  }
  return "CREATE";
}

const char* CompareField(EtcdCompare::Target t) {
  switch (t) {
    case EtcdCompare::kCreateRevision: return "createRevision";
    case EtcdCompare::kModRevision: return "modRevision";
    case EtcdCompare::kVersion: return "version";
    case EtcdCompare::kValue: return "value";
    case EtcdCompare::kLease: return "lease";
  }
  return "createRevision";
}

Json CompareJson(const EtcdCompare& c) {
  Json j = {{"target", CompareTarget(c.target)}, {"result", "EQUAL"}, {"key", Base64Encode(c.key)}};
  if (c.target == EtcdCompare::kValue)
    j["value"] = Base64Encode(c.value);
  else
    j[CompareField(c.target)] = std::to_string(c.number);
  return j;
}

Json OpJson(const EtcdOp& op) {
  switch (op.kind) {
    case EtcdOp::kPut: {
      Json put = {{"key", Base64Encode(op.key)}, {"value", Base64Encode(op.value)}};
      if (op.lease != 0) put["lease"] = std::to_string(op.lease);
      return {{"requestPut", put}};
    }
    case EtcdOp::kDelete: return {{"requestDeleteRange", {{"key", Base64Encode(op.key)}}}};
    case EtcdOp::kRange: break;
  }
  return {{"requestRange", {{"key", Base64Encode(op.key)}}}};
}

size_t AppendAnswer(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > kMaxAnswerBytes) return 0;
  body->append(data, size * n);
  return size * n;
}

}  // namespace

struct EtcdClient::Impl {
  explicit Impl(EtcdOptions o) : opt(std::move(o)) {
    for (std::string& e : opt.endpoints)
      while (!e.empty() && e.back() == '/') e.pop_back();
    InitCurl();
    curl.reset(curl_easy_init());
  }

  EtcdOptions opt;
  EasyHandle curl;
  size_t current = 0;  // the endpoint that answered last
  bool logged_in = false;
  std::string token;   // empty: none (no user, or auth is off)
  // curl keeps a pointer to these as long as the handle lives.
  char error_buffer[CURL_ERROR_SIZE] = {};
  char watch_error_buffer[CURL_ERROR_SIZE] = {};

  int64_t AttemptMs() const {
    int64_t n = std::max<int64_t>(1, static_cast<int64_t>(opt.endpoints.size()));
    return std::max(kMinAttemptMs, opt.timeout_ms / n);
  }

  // False with *err if no call can work: no endpoint, or no libcurl.
  bool Usable(std::string* err) const {
    if (opt.endpoints.empty()) {
      *err = "no etcd endpoint";
      return false;
    }
    if (curl_init_result != CURLE_OK) {
      *err = std::string("libcurl: ") + curl_easy_strerror(curl_init_result);
      return false;
    }
    if (curl == nullptr) {
      *err = "libcurl: cannot create a handle";
      return false;
    }
    return true;
  }

  // Sets up h for a POST of body to url; *headers must outlive the transfer.
  void Prepare(CURL* h, const std::string& url, const std::string& body, HeaderList* headers, char* errors) const {
    curl_easy_reset(h);  // keeps the open connections
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errors);
    errors[0] = '\0';
    // "Expect: 100-continue" would cost a round trip on large bodies.
    curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
    if (list != nullptr) list = curl_slist_append(list, "Expect:");
    if (list != nullptr && !token.empty()) list = curl_slist_append(list, ("Authorization: " + token).c_str());
    headers->reset(list);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    if (!opt.cacert.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opt.cacert.c_str());
    if (!opt.cert.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, opt.cert.c_str());
    if (!opt.key.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, opt.key.c_str());
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  }

  static std::string TransportError(CURLcode rc, const char* errors) {
    if (rc == CURLE_WRITE_ERROR) return "answer larger than " + std::to_string(kMaxAnswerBytes >> 20) + " MiB";
    return errors[0] != '\0' ? errors : curl_easy_strerror(rc);
  }

  // One POST to each endpoint in turn until one answers. False with *err on
  // a transport failure of every endpoint, or on etcd's error answer
  // (*token_rejected says whether a new token may help).
  bool Send(const char* path, const std::string& body, Json* answer, std::string* err, bool* token_rejected) {
    *token_rejected = false;
    if (!Usable(err)) return false;
    const size_t n = opt.endpoints.size();
    const long attempt_ms = static_cast<long>(AttemptMs());
    std::string failures;
    for (size_t i = 0; i < n; ++i) {
      const size_t index = (current + i) % n;
      const std::string& endpoint = opt.endpoints[index];
      HeaderList headers;
      std::string reply;
      Prepare(curl.get(), endpoint + path, body, &headers, error_buffer);
      curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, AppendAnswer);
      curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply);
      curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, attempt_ms);
      curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, attempt_ms);
      CURLcode rc = curl_easy_perform(curl.get());
      if (rc != CURLE_OK) {
        failures += (failures.empty() ? "" : "; ") + endpoint + ": " + TransportError(rc, error_buffer);
        continue;
      }
      current = index;
      long status = 0;
      curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
      if (status != 200) {
        std::string message = StatusError(status, reply);
        *token_rejected = IsTokenRejected(message);
        *err = endpoint + ": " + message;
        return false;
      }
      // A streamed answer (keepalive) is one JSON object per line.
      *answer = Json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
      if (answer->is_discarded() || !answer->is_object()) {
        *err = endpoint + ": " + path + ": the answer is not a JSON object";
        return false;
      }
      std::string message = AnswerError(*answer);
      if (!message.empty()) {
        *token_rejected = IsTokenRejected(message);
        *err = endpoint + ": " + message;
        return false;
      }
      return true;
    }
    *err = failures;
    return false;
  }

  bool LogIn(std::string* err) {
    token.clear();
    Json request = {{"name", opt.user}, {"password", opt.password}};
    Json answer;
    bool token_rejected;
    if (!Send("/v3/auth/authenticate", Dump(request), &answer, err, &token_rejected)) {
      // What etcd's own client does: a cluster without auth takes every
      // call without a token.
      if (Contains(*err, "authentication is not enabled")) {
        err->clear();
        logged_in = true;
        return true;
      }
      *err += " (logging in as " + opt.user + ")";
      return false;
    }
    token = ReadString(answer, "token");
    if (token.empty()) {
      *err = opt.endpoints[current] + ": no token in the answer to logging in as " + opt.user;
      return false;
    }
    logged_in = true;
    return true;
  }

  // Send, logged in first if there is a user, and logged in again once when
  // etcd no longer takes the token.
  bool Call(const char* path, const Json& request, Json* answer, std::string* err) {
    if (!opt.user.empty() && !logged_in && !LogIn(err)) return false;
    const std::string body = Dump(request);
    bool token_rejected;
    if (Send(path, body, answer, err, &token_rejected)) return true;
    if (!token_rejected || opt.user.empty()) return false;
    logged_in = false;
    if (!LogIn(err)) return false;
    return Send(path, body, answer, err, &token_rejected);
  }

  // ----- the watch -----

  // What one watch stream has seen; filled in by the write callback.
  struct Stream {
    CURL* handle = nullptr;
    const std::function<void(const EtcdEvent&)>* on_event = nullptr;
    std::string pending;          // the start of a line not complete yet
    long status = 0;              // the HTTP status, read with the first bytes
    std::string error_body;       // the answer when status is not 200
    bool created = false;         // etcd confirmed the watch
    bool failed = false;          // etcd ended it; error says why
    std::string error;
    std::exception_ptr thrown;    // from on_event, rethrown after cleanup
  };

  static bool HandleLine(Stream* s, const std::string& line) {
    if (line.find_first_not_of(" \r\t") == std::string::npos) return true;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      s->error = "the watch stream is not JSON lines";
      return false;
    }
    std::string message = AnswerError(j);
    if (!message.empty()) {
      s->error = message;
      return false;
    }
    const Json& result = Member(j, "result");
    if (!result.is_object()) {
      s->error = "a watch answer without result";
      return false;
    }
    int64_t compacted = 0;
    if (!ReadInt64(result, "compact_revision", &compacted)) compacted = -1;
    if (compacted != 0) {
      s->error = "the start revision is compacted (the oldest left is " + std::to_string(compacted) + ")";
      return false;
    }
    if (ReadBool(result, "canceled")) {
      std::string reason = ReadString(result, "cancel_reason");
      s->error = "etcd canceled the watch" + (reason.empty() ? "" : ": " + reason);
      return false;
    }
    if (ReadBool(result, "created")) s->created = true;
    const Json& events = Member(result, "events");
    if (events.is_null()) return true;
    if (!events.is_array()) {
      s->error = "unreadable watch events";
      return false;
    }
    s->created = true;
    for (const Json& e : events) {
      EtcdEvent event;
      event.deleted = ReadString(e, "type") == "DELETE";
      if (!e.is_object() || !ReadKv(Member(e, "kv"), &event.kv)) {
        s->error = "unreadable watch event: " + Dump(e).substr(0, 200);
        return false;
      }
      try {
        (*s->on_event)(event);
      } catch (...) {
        s->thrown = std::current_exception();
        return false;
      }
    }
    return true;
  }

  static size_t ReceiveStream(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<Stream*>(user);
    const size_t bytes = size * n;
    if (s->status == 0) curl_easy_getinfo(s->handle, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200) {
      if (s->error_body.size() + bytes > kMaxAnswerBytes) return 0;
      s->error_body.append(data, bytes);
      return bytes;
    }
    s->pending.append(data, bytes);
    size_t start = 0;
    for (size_t nl; (nl = s->pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (!HandleLine(s, s->pending.substr(start, nl - start))) {
        s->failed = true;
        return 0;
      }
    }
    s->pending.erase(0, start);
    if (s->pending.size() > kMaxAnswerBytes) {
      s->error = "a watch answer larger than " + std::to_string(kMaxAnswerBytes >> 20) + " MiB";
      s->failed = true;
      return 0;
    }
    return bytes;
  }

  enum class WatchEnd { kStopped, kFailed, kTransport };

  // One watch stream on endpoint index: kTransport if it could not be set up
  // there (try the next one), else how it ended.
  WatchEnd WatchOn(CURL* h, CURLM* multi, size_t index, const std::string& body,
                   const std::function<void(const EtcdEvent&)>& on_event, const std::function<bool()>& stop,
                   std::string* why, bool* token_rejected) {
    Stream s;
    s.handle = h;
    s.on_event = &on_event;
    HeaderList headers;
    const int64_t attempt_ms = AttemptMs();
    Prepare(h, opt.endpoints[index] + "/v3/watch", body, &headers, watch_error_buffer);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ReceiveStream);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(attempt_ms));
    // A host that went away without a word is found by TCP keepalives.
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 10L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L);
    curl_multi_add_handle(multi, h);

    const Clock::time_point started = Clock::now();
    bool stopped = false, slow = false;
    CURLcode rc = CURLE_OK;
    for (;;) {
      if (stop()) {
        stopped = true;
        break;
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      if (s.failed) break;
      if (running == 0) {
        int queued;
        while (CURLMsg* m = curl_multi_info_read(multi, &queued))
          if (m->msg == CURLMSG_DONE) rc = m->data.result;
        break;
      }
      // Until etcd confirms the watch, the attempt has its share of the
      // budget, like any call: a stopped member accepts and says nothing.
      if (!s.created && Clock::now() - started > std::chrono::milliseconds(attempt_ms)) {
        slow = true;
        break;
      }
      curl_multi_poll(multi, nullptr, 0, kWatchPollMs, nullptr);
    }
    curl_multi_remove_handle(multi, h);
    if (s.thrown) std::rethrow_exception(s.thrown);
    if (s.created || s.failed || s.status != 0) current = index;
    if (stopped) return WatchEnd::kStopped;
    if (s.failed) {
      *token_rejected = IsTokenRejected(s.error);
      *why = s.error;
      return WatchEnd::kFailed;
    }
    if (slow) {
      *why = "no answer to the watch after " + std::to_string(attempt_ms) + " ms";
      return WatchEnd::kTransport;
    }
    if (s.status != 0 && s.status != 200) {
      *why = StatusError(s.status, s.error_body);
      *token_rejected = IsTokenRejected(*why);
      return WatchEnd::kFailed;
    }
    if (rc == CURLE_OK && !s.pending.empty() && !HandleLine(&s, s.pending)) {
      if (s.thrown) std::rethrow_exception(s.thrown);
      *why = s.error;
      *token_rejected = IsTokenRejected(s.error);
      return WatchEnd::kFailed;
    }
    std::string cause = rc == CURLE_OK ? "the watch stream ended" : TransportError(rc, watch_error_buffer);
    if (!s.created) {
      *why = cause;
      return WatchEnd::kTransport;
    }
    *why = "the watch stream broke: " + cause;
    return WatchEnd::kFailed;
  }

  // One try over every endpoint; false with *err and *token_rejected.
  bool WatchOnce(CURL* h, CURLM* multi, const std::string& body,
                 const std::function<void(const EtcdEvent&)>& on_event, const std::function<bool()>& stop,
                 std::string* err, bool* token_rejected) {
    *token_rejected = false;
    const size_t n = opt.endpoints.size();
    std::string failures;
    for (size_t i = 0; i < n; ++i) {
      const size_t index = (current + i) % n;
      const std::string endpoint = opt.endpoints[index];
      std::string why;
      switch (WatchOn(h, multi, index, body, on_event, stop, &why, token_rejected)) {
        case WatchEnd::kStopped: return true;
        case WatchEnd::kFailed: *err = endpoint + ": " + why; return false;
        case WatchEnd::kTransport: failures += (failures.empty() ? "" : "; ") + endpoint + ": " + why; break;
      }
    }
    *err = failures;
    return false;
  }

  bool Watch(const std::string& prefix, int64_t start_revision, const std::function<void(const EtcdEvent&)>& on_event,
             const std::function<bool()>& stop, std::string* err) {
    if (stop()) return true;
    if (!Usable(err)) return false;
    EasyHandle h(curl_easy_init());
    MultiHandle multi(curl_multi_init());
    if (h == nullptr || multi == nullptr) {
      *err = "libcurl: cannot create a handle";
      return false;
    }
    // An empty prefix is every key: etcd wants a key, "\0" is the first.
    const std::string key = prefix.empty() ? std::string(1, '\0') : prefix;
    Json create = {{"key", Base64Encode(key)}, {"range_end", Base64Encode(PrefixEnd(prefix))}};
    if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
    const std::string body = Dump(Json{{"create_request", create}});

    if (!opt.user.empty() && !logged_in && !LogIn(err)) return false;
    bool token_rejected;
    if (WatchOnce(h.get(), multi.get(), body, on_event, stop, err, &token_rejected)) return true;
    if (!token_rejected || opt.user.empty()) return false;
    logged_in = false;
    if (!LogIn(err)) return false;
    return WatchOnce(h.get(), multi.get(), body, on_event, stop, err, &token_rejected);
  }
};

EtcdClient::EtcdClient(EtcdOptions opt) : impl_(new Impl(std::move(opt))) {}

EtcdClient::~EtcdClient() = default;

const std::string& EtcdClient::endpoint() const {
  static const std::string kNone;
  return impl_->opt.endpoints.empty() ? kNone : impl_->opt.endpoints[impl_->current];
}

bool EtcdClient::LeaseGrant(int64_t ttl_s, int64_t* id, int64_t* granted_ttl_s, std::string* err) {
  Json answer;
  if (!impl_->Call("/v3/lease/grant", {{"TTL", std::to_string(ttl_s)}}, &answer, err)) return false;
  if (!ReadInt64(answer, "ID", id) || !ReadInt64(answer, "TTL", granted_ttl_s) || *id == 0) {
    *err = endpoint() + ": unreadable answer to a lease grant";
    return false;
  }
  return true;
}

bool EtcdClient::LeaseKeepAlive(int64_t id, int64_t* ttl_s, std::string* err) {
  Json answer;
  if (!impl_->Call("/v3/lease/keepalive", {{"ID", std::to_string(id)}}, &answer, err)) return false;
  const Json& result = Member(answer, "result");
  if (!result.is_object() || !ReadInt64(result, "TTL", ttl_s)) {
    *err = endpoint() + ": unreadable answer to a lease keepalive";
    return false;
  }
  if (*ttl_s < 0) *ttl_s = 0;
  return true;
}

bool EtcdClient::LeaseRevoke(int64_t id, std::string* err) {
  Json answer;
  if (impl_->Call("/v3/lease/revoke", {{"ID", std::to_string(id)}}, &answer, err)) return true;
  // Revoked already, or expired: what the caller wanted.
  if (Contains(*err, "requested lease not found")) {
    err->clear();
    return true;
  }
  return false;
}

bool EtcdClient::Range(const std::string& key, std::vector<EtcdKv>* kvs, int64_t* revision, std::string* err) {
  Json answer;
  if (!impl_->Call("/v3/kv/range", {{"key", Base64Encode(key)}}, &answer, err)) return false;
  int64_t rev = 0;
  if (!ReadKvs(answer, kvs) || !ReadRevision(answer, &rev)) {
    *err = endpoint() + ": unreadable answer to a range";
    return false;
  }
  if (revision != nullptr) *revision = rev;
  return true;
}

bool EtcdClient::Txn(const std::vector<EtcdCompare>& compares, const std::vector<EtcdOp>& success,
                     const std::vector<EtcdOp>& failure, EtcdTxnResult* result, std::string* err) {
  Json request = {{"compare", Json::array()}, {"success", Json::array()}, {"failure", Json::array()}};
  for (const EtcdCompare& c : compares) request["compare"].push_back(CompareJson(c));
  for (const EtcdOp& op : success) request["success"].push_back(OpJson(op));
  for (const EtcdOp& op : failure) request["failure"].push_back(OpJson(op));
  Json answer;
  if (!impl_->Call("/v3/kv/txn", request, &answer, err)) return false;
  *result = EtcdTxnResult();
  result->succeeded = ReadBool(answer, "succeeded");
  bool ok = ReadRevision(answer, &result->revision);
  const Json& responses = Member(answer, "responses");
  if (!responses.is_null() && !responses.is_array()) ok = false;
  for (size_t i = 0; ok && responses.is_array() && i < responses.size(); ++i) {
    std::vector<EtcdKv> kvs;
    const Json& range = Member(responses[i], "response_range");
    if (!range.is_null()) ok = ReadKvs(range, &kvs);
    result->ranges.push_back(std::move(kvs));
  }
  if (!ok) {
    *err = endpoint() + ": unreadable answer to a transaction";
    return false;
  }
  return true;
}

bool EtcdClient::Watch(const std::string& prefix, int64_t start_revision,
                       const std::function<void(const EtcdEvent&)>& on_event, const std::function<bool()>& stop,
                       std::string* err) {
  return impl_->Watch(prefix, start_revision, on_event, stop, err);
}

std::string Base64Encode(const std::string& bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1]) << 8 |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool Base64Decode(const std::string& text, std::string* bytes) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  bytes->clear();
  if (text.size() % 4 != 0) return false;
  bytes->reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t pad = !last ? 0 : text[i + 3] != '=' ? 0 : text[i + 2] != '=' ? 1 : 2;
    int v[4];
    for (size_t k = 0; k < 4 - pad; ++k)
      if ((v[k] = value(text[i + k])) < 0) return false;
    uint32_t bits = static_cast<uint32_t>(v[0]) << 18 | static_cast<uint32_t>(v[1]) << 12;
    if (pad < 2) bits |= static_cast<uint32_t>(v[2]) << 6;
    if (pad < 1) bits |= static_cast<uint32_t>(v[3]);
    // Bits the padding drops must be zero, or two texts would mean one value.
    if ((pad == 2 && (bits & 0xffff) != 0) || (pad == 1 && (bits & 0xff) != 0)) return false;
    bytes->push_back(static_cast<char>(bits >> 16));
    if (pad < 2) bytes->push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) bytes->push_back(static_cast<char>(bits & 0xff));
  }
  return true;
}

}  // namespace mpp
