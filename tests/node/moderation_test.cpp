// Coalition moderation rules (docs/data-model.md, "moderation"): whose decisions count, which
// hold when moderators disagree, and what members then read. Chains signed by the test and
// stored in a real LMDB store, as a node holds them after sync.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "node/local/entitlements.hpp"
#include "storage/record_store.hpp"
#include "keyed_chain.hpp"
#include "temp_dir.hpp"

using namespace agora;
using nlohmann::json;

namespace {

std::string id_of(const test::KeyedChain& c) { return node_id(c.root.public_key()); }

SignedRecord decide(test::KeyedChain& by, ModerationAction action, const std::string& target, int64_t ts,
                    uint32_t version = 1) {
  by.ts = ts;
  ModerationStatement m{"eccar", action, target, "reason of " + std::string(moderation_action_name(action))};
  return by.sign(Kind::moderation, moderation_id("eccar", target), moderation_body(m), nullptr, version);
}

bool ignored_with(const CoalitionModeration& m, const test::KeyedChain& by, const std::string& target,
                  const std::string& why) {
  for (const auto& i : m.ignored())
    if (i.decision.by == by.root.public_key() && i.decision.statement.target == target &&
        i.why.find(why) != std::string::npos)
      return true;
  return false;
}

}  // namespace

TEST_CASE("coalition moderation: only the lead and its admins decide, the lead holds, public records stay",
          "[node][moderation]") {
  test::TempDir tmp;
  storage::RecordStore store(tmp.path() / "store");
  test::KeyedChain lyon, malmo, turin, lisbon, rome;  // lead, admins Malmo and Turin, member Lisbon, outsider Rome
  std::vector<SignedRecord> chain;
  auto store_all = [&] {
    std::vector<storage::IncomingRecord> in;
    for (const auto& r : chain) in.push_back({r, verify_record(r).value(), {}, {}});
    store.env().write([&](storage::WriteTxn& t) { store.append(t, in); });
    chain.clear();
  };
  for (auto* c : {&lyon, &malmo, &turin, &lisbon, &rome}) chain.push_back(c->genesis());
  json coalition = {{"name", "eccar"},
                    {"title", "ECCAR"},
                    {"region", "Europe"},
                    {"framework", "eccar-10pt"},
                    {"members", {id_of(malmo), id_of(turin), id_of(lisbon)}},
                    {"admins", {id_of(malmo), id_of(turin)}}};
  chain.push_back(lyon.sign(Kind::coalition, "eccar", coalition.dump()));
  for (auto* c : {&malmo, &turin, &lisbon})
    chain.push_back(
        c->sign(Kind::partnership, "eccar-membership",
                json{{"with", id_of(lyon)}, {"relation", "coalition-member"}, {"coalition", "eccar"}}.dump()));
  turin.visibility = lisbon.visibility = "coalition:eccar";
  SignedRecord t1 = turin.sign(Kind::practice, "t1", R"({"title":"t1"})");
  SignedRecord l1 = lisbon.sign(Kind::practice, "l1", R"({"title":"l1"})");
  lisbon.visibility = "public";
  SignedRecord lpub = lisbon.sign(Kind::practice, "lpub", R"({"title":"lpub"})");
  chain.insert(chain.end(), {t1, l1, lpub});
  const std::string t1_ref = id_of(turin) + "/t1", l1_ref = id_of(lisbon) + "/l1", lpub_ref = id_of(lisbon) + "/lpub";
  auto header = [](const SignedRecord& r) { return decode_header(r.header_bytes).value(); };

  chain.push_back(decide(rome, ModerationAction::dispute, l1_ref, 1000));               // an outsider
  chain.push_back(decide(malmo, ModerationAction::remove_member, id_of(lyon), 1000));   // the lead
  chain.push_back(decide(malmo, ModerationAction::remove_member, id_of(turin), 1000));  // an admin, by an admin
  chain.push_back(decide(lyon, ModerationAction::remove_member, id_of(turin), 1000));   // by the lead: holds
  chain.push_back(decide(turin, ModerationAction::dispute, l1_ref, 3000));              // by the removed admin
  chain.push_back(decide(lyon, ModerationAction::withdraw, l1_ref, 1000));              // the lead's: holds
  chain.push_back(decide(malmo, ModerationAction::dispute, l1_ref, 2000));              // later, but an admin's
  chain.push_back(decide(lyon, ModerationAction::withdraw, lpub_ref, 1000));            // a public record
  chain.push_back(decide(malmo, ModerationAction::dispute, t1_ref, 1000));
  store_all();

  // Explained, as `agora moderate list` loads them: outsiders' decisions listed as ignored too.
  auto load = [&] { return store.read([](const storage::StoreReader& r) { return Entitlements::load(r, true); }); };
  {
    Entitlements ent = load();
    const CoalitionModeration& m = ent.moderation();
    CHECK(ent.member("eccar", malmo.root.public_key()));
    CHECK(ent.member("eccar", lisbon.root.public_key()));
    CHECK_FALSE(ent.member("eccar", turin.root.public_key()));  // removed by the lead
    CHECK(ent.member("eccar", lyon.root.public_key()));         // the lead cannot be removed
    CHECK(m.admins("eccar") == std::set<PublicKey>{malmo.root.public_key()});
    CHECK(ignored_with(m, rome, l1_ref, "neither the lead"));
    CHECK(ignored_with(m, malmo, id_of(lyon), "lead of a coalition cannot be removed"));
    CHECK(ignored_with(m, malmo, id_of(turin), "only the lead removes an admin"));
    CHECK(ignored_with(m, turin, l1_ref, "removed from \"eccar\" by the lead"));
    CHECK(ignored_with(m, malmo, l1_ref, "another moderator's decision"));
    CHECK(m.ignored().size() == 5);
    // l1 is withdrawn from the coalition's scope: only Lisbon, its origin, reads it now.
    REQUIRE(m.decision_for(header(l1)));
    CHECK(m.decision_for(header(l1))->by == lyon.root.public_key());
    CHECK_FALSE(ent.may_read(header(l1), malmo.root.public_key()));
    CHECK(ent.may_read(header(l1), lisbon.root.public_key()));
    // t1 is disputed: still read by members, marked; Turin, removed, still reads its own.
    REQUIRE(m.decision_for(header(t1)));
    CHECK(m.decision_for(header(t1))->statement.action == ModerationAction::dispute);
    CHECK(ent.may_read(header(t1), lisbon.root.public_key()));
    // A public record of Lisbon's own chain: the withdrawal does not apply to it.
    CHECK(m.decision_for(header(lpub)) == nullptr);
    CHECK(ent.may_read(header(lpub), rome.root.public_key()));
    CHECK(m.in_effect().size() == 4);  // Turin's removal, l1 withdrawn, lpub (inert), t1 disputed
  }

  // The lead lifts Turin's removal and the withdrawal (retractions): Turin is a member and an
  // admin again, and between the admins' disputes of l1 the later one holds (Turin's).
  chain.push_back(lyon.retract(Kind::moderation, moderation_id("eccar", id_of(turin)), 2));
  chain.push_back(lyon.retract(Kind::moderation, moderation_id("eccar", l1_ref), 2));
  store_all();
  {
    Entitlements ent = load();
    const CoalitionModeration& m = ent.moderation();
    CHECK(ent.member("eccar", turin.root.public_key()));
    CHECK(m.admins("eccar").count(turin.root.public_key()));
    REQUIRE(m.decision_for(header(l1)));
    CHECK(m.decision_for(header(l1))->by == turin.root.public_key());
    CHECK(m.decision_for(header(l1))->statement.action == ModerationAction::dispute);
    CHECK(ent.may_read(header(l1), malmo.root.public_key()));
  }

  // The node itself does not read outsiders' decisions at all: only to explain them.
  auto ignored = [&](bool explain) {
    return store.read(
        [&](const storage::StoreReader& r) { return Entitlements::load(r, explain).moderation().ignored(); });
  };
  CHECK(ignored(true).size() == 4);   // Rome's, Malmo's removals of Lyon and Turin, Malmo's dispute of l1
  CHECK(ignored(false).size() == 3);  // Rome's is not read

  // Rome declares "eccar" too, dated before Lyon's first version: listing Malmo wins it no
  // member (Malmo accepted Lyon), so it leads nothing; and Lyon's edit keeps its lead.
  rome.ts = 1600000000000;
  chain.push_back(rome.sign(Kind::coalition, "eccar",
                            json{{"name", "eccar"},
                                 {"title", "ECCAR"},
                                 {"region", "Europe"},
                                 {"framework", "eccar-10pt"},
                                 {"members", {id_of(malmo)}}}
                                .dump()));
  lyon.ts = 1800000000000;
  coalition["admins"] = {id_of(malmo)};
  chain.push_back(lyon.sign(Kind::coalition, "eccar", coalition.dump(), nullptr, 2));
  store_all();
  {
    Entitlements ent = load();
    CHECK(ent.coalition_leads().at("eccar") == lyon.root.public_key());
    CHECK(ent.member("eccar", malmo.root.public_key()));
    CHECK_FALSE(ent.moderation().admins("eccar").count(turin.root.public_key()));  // no longer named
    CHECK_FALSE(ent.member("eccar", rome.root.public_key()));
  }
}

TEST_CASE("a coalition's members accept its lead: a partnership naming another city makes no member",
          "[node][moderation]") {
  test::TempDir tmp;
  storage::RecordStore store(tmp.path() / "store");
  test::KeyedChain lead, member, other;
  std::vector<SignedRecord> chain;
  for (auto* c : {&lead, &member, &other}) chain.push_back(c->genesis());
  chain.push_back(lead.sign(
      Kind::coalition, "c",
      json{{"name", "c"}, {"title", "C"}, {"region", "R"}, {"framework", "eccar-10pt"}, {"members", {id_of(member)}}}
          .dump()));
  chain.push_back(
      member.sign(Kind::partnership, "p",
                  json{{"with", id_of(other)}, {"relation", "coalition-member"}, {"coalition", "c"}}.dump()));
  std::vector<storage::IncomingRecord> in;
  for (const auto& r : chain) in.push_back({r, verify_record(r).value(), {}, {}});
  store.env().write([&](storage::WriteTxn& t) { store.append(t, in); });
  Entitlements ent = store.read([](const storage::StoreReader& r) { return Entitlements::load(r); });
  CHECK_FALSE(ent.member("c", member.root.public_key()));
  CHECK(ent.coalition_leads().at("c") == lead.root.public_key());

  // `other` declares "c" too, listing itself and `member`, and accepts itself: the declarer
  // does not count. `member` accepts `other`, but in a partners-only record, which not every
  // node can read: it does not count either. The first declaration keeps the lead.
  other.ts = lead.ts + 1;
  chain = {other.sign(Kind::coalition, "c",
                      json{{"name", "c"},
                           {"title", "C"},
                           {"region", "R"},
                           {"framework", "eccar-10pt"},
                           {"members", {id_of(other), id_of(member)}}}
                          .dump()),
           other.sign(Kind::partnership, "self",
                      json{{"with", id_of(other)}, {"relation", "coalition-member"}, {"coalition", "c"}}.dump())};
  member.visibility = "partners";
  chain.push_back(member.sign(Kind::partnership, "p",
                              json{{"with", id_of(other)}, {"relation", "coalition-member"}, {"coalition", "c"}}.dump(),
                              nullptr, 2));
  in.clear();
  for (const auto& r : chain) in.push_back({r, verify_record(r).value(), {}, {}});
  store.env().write([&](storage::WriteTxn& t) { store.append(t, in); });
  ent = store.read([](const storage::StoreReader& r) { return Entitlements::load(r); });
  CHECK(ent.coalition_leads().at("c") == lead.root.public_key());
  CHECK_FALSE(ent.member("c", member.root.public_key()));
}
