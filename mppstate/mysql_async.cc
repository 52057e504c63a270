#include "mppstate/mysql_async.h"

namespace mpp {

#if defined(MARIADB_PACKAGE_VERSION_ID)

bool AsyncCall::Enable(MYSQL* m, size_t stack_bytes) {
  return mysql_options(m, MYSQL_OPT_NONBLOCK, &stack_bytes) == 0;
}

// Connector/C looks the context up afresh on every call (it keeps no
// pointer to it once connected), so it may be replaced between calls.
void AsyncCall::Shrink(MYSQL* m) {
  size_t page = 4096;
  (void)mysql_options(m, MYSQL_OPT_NONBLOCK, &page);
}

int AsyncCall::Socket(MYSQL* m) {
  my_socket s = mysql_get_socket(m);
  return s == MARIADB_INVALID_SOCKET ? -1 : static_cast<int>(s);
}

AsyncWait AsyncCall::Wait(int status) {
  AsyncWait w;
  w.done = status == 0;
  w.read = (status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT)) != 0;
  w.write = (status & MYSQL_WAIT_WRITE) != 0;
  if (status & MYSQL_WAIT_TIMEOUT) w.timeout_ms = mysql_get_timeout_value_ms(m_);
  if (w.done) {
    if (op_ == Op::kConnect) password_.assign(password_.size(), '\0');
    op_ = Op::kNone;
  }
  return w;
}

AsyncWait AsyncCall::StartConnect(MYSQL* m, const std::string& host, const std::string& user,
                                  const std::string& password, unsigned port) {
  m_ = m;
  op_ = Op::kConnect;
  connect_ret_ = nullptr;
  host_ = host;  // the library reads them again on every _cont
  user_ = user;
  password_ = password;
  return Wait(mysql_real_connect_start(&connect_ret_, m, host_.c_str(), user_.empty() ? nullptr : user_.c_str(),
                                       password_.c_str(), nullptr, port, nullptr, 0));
}

AsyncWait AsyncCall::StartQuery(MYSQL* m, const std::string& sql) {
  m_ = m;
  op_ = Op::kQuery;
  int_ret_ = 1;
  sql_ = sql;
  return Wait(mysql_real_query_start(&int_ret_, m, sql_.data(), sql_.size()));
}

AsyncWait AsyncCall::StartStoreResult(MYSQL* m) {
  m_ = m;
  op_ = Op::kStoreResult;
  res_ret_ = nullptr;
  return Wait(mysql_store_result_start(&res_ret_, m));
}

AsyncWait AsyncCall::StartNextResult(MYSQL* m) {
  m_ = m;
  op_ = Op::kNextResult;
  int_ret_ = 1;
  return Wait(mysql_next_result_start(&int_ret_, m));
}

AsyncWait AsyncCall::Continue(bool readable, bool writable, bool timed_out) {
  int ready = (readable ? MYSQL_WAIT_READ : 0) | (writable ? MYSQL_WAIT_WRITE : 0) | (timed_out ? MYSQL_WAIT_TIMEOUT : 0);
  switch (op_) {
    case Op::kConnect: return Wait(mysql_real_connect_cont(&connect_ret_, m_, ready));
    case Op::kQuery: return Wait(mysql_real_query_cont(&int_ret_, m_, ready));
    case Op::kStoreResult: return Wait(mysql_store_result_cont(&res_ret_, m_, ready));
    case Op::kNextResult: return Wait(mysql_next_result_cont(&int_ret_, m_, ready));
    case Op::kNone: break;
  }
  return AsyncWait();
}

#else  // Oracle's libmysqlclient: untested, see the header.

bool AsyncCall::Enable(MYSQL*, size_t) { return true; }

void AsyncCall::Shrink(MYSQL*) {}

int AsyncCall::Socket(MYSQL* m) { return m->net.vio == nullptr ? -1 : static_cast<int>(m->net.fd); }

AsyncWait AsyncCall::Wait(int status) {
  AsyncWait w;
  w.done = status != NET_ASYNC_NOT_READY;
  w.read = !w.done;
  w.write = !w.done && op_ == Op::kConnect;
  if (w.done) {
    if (op_ == Op::kQuery) int_ret_ = status == NET_ASYNC_COMPLETE ? 0 : 1;
    if (op_ == Op::kNextResult)
      int_ret_ = status == NET_ASYNC_COMPLETE ? 0 : status == NET_ASYNC_COMPLETE_NO_MORE_RESULTS ? -1 : 1;
    if (op_ == Op::kConnect && status != NET_ASYNC_COMPLETE) connect_ret_ = nullptr;
    op_ = Op::kNone;
  }
  return w;
}

AsyncWait AsyncCall::StartConnect(MYSQL* m, const std::string& host, const std::string& user,
                                  const std::string& password, unsigned port) {
  m_ = m;
  op_ = Op::kConnect;
  host_ = host;
  user_ = user;
  password_ = password;
  port_ = port;
  connect_ret_ = m;
  return Continue(false, false, false);
}

AsyncWait AsyncCall::StartQuery(MYSQL* m, const std::string& sql) {
  m_ = m;
  op_ = Op::kQuery;
  sql_ = sql;
  return Continue(false, false, false);
}

AsyncWait AsyncCall::StartStoreResult(MYSQL* m) {
  m_ = m;
  op_ = Op::kStoreResult;
  res_ret_ = nullptr;
  return Continue(false, false, false);
}

AsyncWait AsyncCall::StartNextResult(MYSQL* m) {
  m_ = m;
  op_ = Op::kNextResult;
  return Continue(false, false, false);
}

AsyncWait AsyncCall::Continue(bool, bool, bool timed_out) {
  if (timed_out) {  // no library timeout here: ours has run out
    if (op_ == Op::kConnect) connect_ret_ = nullptr;
    int_ret_ = 1;
    op_ = Op::kNone;
    return AsyncWait();
  }
  switch (op_) {
    case Op::kConnect:
      return Wait(mysql_real_connect_nonblocking(m_, host_.c_str(), user_.empty() ? nullptr : user_.c_str(),
                                                 password_.c_str(), nullptr, port_, nullptr, 0));
    case Op::kQuery: return Wait(mysql_real_query_nonblocking(m_, sql_.data(), sql_.size()));
    case Op::kStoreResult: return Wait(mysql_store_result_nonblocking(m_, &res_ret_));
    case Op::kNextResult: return Wait(mysql_next_result_nonblocking(m_));
    case Op::kNone: break;
  }
  return AsyncWait();
}

#endif

MYSQL_RES* AsyncCall::TakeResult() {
  MYSQL_RES* r = res_ret_;
  res_ret_ = nullptr;
  return r;
}

}  // namespace mpp
