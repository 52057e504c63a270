// A client of etcd's v3 JSON gateway (etcd 3.4: /v3/kv/*, /v3/lease/*,
// /v3/watch, /v3/auth/authenticate) over HTTP or HTTPS, with libcurl. It
// is what a director pair needs (doc/director-pair.md): leases, a
// transaction with compares, a range, a watch of a prefix. Keys and values
// travel base64-encoded and int64 numbers as strings; fields that are
// false, zero or empty are absent from etcd's answers, and read as such.
//
// Endpoints are tried in turn: a call starts at the endpoint that answered
// last, and moves to the next on a transport failure (refused, timed out,
// reset), each attempt with its share of the call's budget. An answer from
// etcd itself (an error status or message) is final and not retried
// elsewhere. With a user, the client logs in (/v3/auth/authenticate) before
// its first call and again when etcd says the token is no longer valid.
//
// Thread-safety: one client per thread (it owns a curl handle); separate
// clients may run in parallel.
#pragma once

#include <stdint.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mpp {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", "https://[::1]:2379"
  std::string cacert;                  // TLS: the CA that signed etcd's certificate; empty: the system's
  std::string cert, key;               // TLS client certificate and key; empty: none
  std::string user, password;          // empty user: no authentication
  int64_t timeout_ms = 1000;           // the budget of one call, over all the endpoints it tries
};

struct EtcdKv {
  std::string key, value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

// One compare of a transaction: the key's field must EQUAL the given value.
struct EtcdCompare {
  enum Target { kCreateRevision, kModRevision, kVersion, kValue, kLease };
  Target target = kCreateRevision;
  std::string key;
  int64_t number = 0;  // every target but kValue
  std::string value;   // kValue
};

struct EtcdOp {
  enum Kind { kRange, kPut, kDelete };
  Kind kind = kRange;
  std::string key;
  std::string value;  // kPut
  int64_t lease = 0;  // kPut: 0 for none
};

struct EtcdTxnResult {
  bool succeeded = false;
  int64_t revision = 0;  // the store's revision after the transaction (its header)
  // One entry per op of the branch taken: the keys a kRange found (empty
  // for a put or a delete, and for a range that found nothing).
  std::vector<std::vector<EtcdKv>> ranges;
};

struct EtcdEvent {
  bool deleted = false;  // DELETE (a lease expired or a key was deleted); else PUT
  EtcdKv kv;             // a DELETE carries only key and mod_revision
};

class EtcdClient {
 public:
  explicit EtcdClient(EtcdOptions opt);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // Every call returns false with *err on failure: the transport's error, or
  // etcd's message, prefixed with the endpoint ("http://127.0.0.1:2379: ...").

  // A lease of ttl_s seconds; *id is its ID, *granted_ttl_s what etcd granted.
  bool LeaseGrant(int64_t ttl_s, int64_t* id, int64_t* granted_ttl_s, std::string* err);
  // Renews the lease once; *ttl_s is 0 when it has already expired (etcd
  // then omits the TTL), which is an answer, not an error.
  bool LeaseKeepAlive(int64_t id, int64_t* ttl_s, std::string* err);
  // Ends the lease and deletes its keys; an unknown lease is not an error.
  bool LeaseRevoke(int64_t id, std::string* err);

  // The key's value, linearizable; an absent key gives an empty *kvs.
  // *revision (optional) is the store's revision of the answer.
  bool Range(const std::string& key, std::vector<EtcdKv>* kvs, int64_t* revision, std::string* err);

  bool Txn(const std::vector<EtcdCompare>& compares, const std::vector<EtcdOp>& success,
           const std::vector<EtcdOp>& failure, EtcdTxnResult* result, std::string* err);

  // Watches every key that starts with prefix, from start_revision (0: from
  // now), on its own connection, calling on_event for each event in order,
  // until stop() returns true (checked at least every 200 ms; returns true,
  // no error) or the stream ends or fails (returns false with *err; a
  // compacted start_revision is such a failure). Blocks the calling thread.
  // There is no budget: a watch is idle between events.
  bool Watch(const std::string& prefix, int64_t start_revision, const std::function<void(const EtcdEvent&)>& on_event,
             const std::function<bool()>& stop, std::string* err);

  // The endpoint the next call starts at.
  const std::string& endpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Base64 (RFC 4648, with padding), as the gateway wants keys and values.
std::string Base64Encode(const std::string& bytes);
// False on anything that is not base64.
bool Base64Decode(const std::string& text, std::string* bytes);

}  // namespace mpp
