// libFuzzer target for the state file reader alone: both check depths, every
// record walk and every lookup. A file valid with every line checked must be
// valid with only the header and end checked, with the same header.
#include <stdint.h>
#include <string.h>

#include "common/state_reader.h"

namespace {

void Require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  mpp::StateFile all, quick;
  const char* why = nullptr;
  mpp::StateError e_all = mpp::ParseStateFile(p, size, &all, &why, mpp::StateCheck::kAllLines);
  Require(e_all == mpp::StateError::kOk || why != nullptr);
  mpp::StateError e_quick = mpp::ParseStateFile(p, size, &quick, &why, mpp::StateCheck::kHeaderAndEnd);
  if (e_all == mpp::StateError::kOk) {
    Require(e_quick == mpp::StateError::kOk);
    Require(memcmp(&all.header, &quick.header, sizeof all.header) == 0);
    Require(all.body_end == quick.body_end);
    mpp::StateCursor c = mpp::BeginRecords(all);
    mpp::NodeRecord n;
    while (mpp::NextNode(&c, &n)) {
      mpp::NodeRecord again;
      Require(mpp::FindNode(all, n.name, &again, &why) || why != nullptr);
    }
    c = mpp::BeginRecords(all);
    mpp::DestRecord d;
    while (mpp::NextDest(&c, &d)) {
      Require(d.weight >= 0 && d.weight <= 65535);
      mpp::DestRecord found;
      if (mpp::FindDestByAddress(all, d.vs_address, d.node_address, &found, &why))
        Require(found.vs_address == d.vs_address && found.node_address == d.node_address);
    }
  }
  if (e_quick == mpp::StateError::kOk) {
    mpp::DestRecord d;
    if (mpp::FindDestByName(quick, "writer", "db1", &d, &why)) {
      Require(d.vs.Equals("writer") && d.node.Equals("db1"));
    } else {
      Require(why != nullptr);
    }
    mpp::Address vs, node;
    if (mpp::ParseAddress("192.0.2.10:3306", 15, &vs, &why) &&
        mpp::ParseAddress("127.0.0.1:3306", 14, &node, &why)) {
      if (mpp::FindDestByAddress(quick, vs, node, &d, &why)) Require(d.node_address == node);
    }
    mpp::Text name{"db1", 3};
    mpp::NodeRecord n;
    if (mpp::FindNode(quick, name, &n, &why)) Require(n.name.Equals("db1"));
  }
  return 0;
}
