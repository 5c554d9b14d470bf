#include <catch2/catch.hpp>

#include <random>

#include "protocol/erasure.hpp"
#include "protocol/moderation.hpp"
#include "storage/keys.hpp"
#include "storage/record_store.hpp"
#include "keyed_chain.hpp"
#include "temp_dir.hpp"

using namespace agora;
using namespace agora::storage;

namespace {

// Builds a chain of signed practice records for one origin.
struct Chain {
  SigningKey key = SigningKey::generate();
  uint64_t seq = 0;
  Hash prev{};

  IncomingRecord next(const std::string& id, uint32_t version, uint16_t themes = 1, std::string body = "{}",
                      bool tombstone = false) {
    Header h;
    h.origin = key.public_key();
    h.seq = ++seq;
    h.prev = prev;
    h.kind = Kind::practice;
    h.id = id;
    h.version = version;
    h.ts = 1;
    h.tombstone = tombstone;
    IncomingRecord in;
    in.record = sign_record(h, body, key);
    in.header = decode_header(in.record.header_bytes).value();
    in.keys = IndexKeys{themes, 2020};
    prev = record_hash(in.record.header_bytes);
    return in;
  }
};

size_t count(RecordStore& store, const ListQuery& q) {
  return store.read([&](const StoreReader& r) {
    size_t n = 0;
    r.list(q, [&](const PublicKey&, std::string_view, const LatestEntry&) { return ++n, true; });
    return n;
  });
}

}  // namespace

TEST_CASE("records append to their origin's chain and are read back exactly", "[storage]") {
  test::TempDir tmp;
  RecordStore store(tmp.path());
  Chain c;
  std::vector<IncomingRecord> batch = {c.next("a", 1, 1, R"({"title":"A"})"), c.next("b", 1, 2)};
  store.env().write([&](WriteTxn& t) { store.append(t, batch); });

  store.read([&](const StoreReader& r) {
    auto head = r.head(c.key.public_key());
    REQUIRE(head);
    CHECK(head->seq == 2);
    CHECK(head->hash == c.prev);
    auto view = r.at(c.key.public_key(), 1);
    REQUIRE(view);
    SignedRecord back = view->load();
    CHECK(back.header_bytes == batch[0].record.header_bytes);
    CHECK(back.body == batch[0].record.body);
    CHECK(verify_record(back));
    return 0;
  });
}

TEST_CASE("a record that does not extend the chain is refused and the batch leaves no trace", "[storage]") {
  test::TempDir tmp;
  RecordStore store(tmp.path());
  Chain c;
  auto first = c.next("a", 1);
  store.env().write([&](WriteTxn& t) { store.append(t, std::span(&first, 1)); });

  SECTION("broken link (wrong prev hash)") {
    auto good = c.next("b", 1);
    Chain other;  // same seq numbers, unrelated hashes
    other.key = c.key;
    other.seq = 2;
    auto bad = other.next("c", 1);
    std::vector<IncomingRecord> batch = {good, bad};
    CHECK_THROWS_AS(store.env().write([&](WriteTxn& t) { store.append(t, batch); }), ChainError);
  }
  SECTION("reordered sequence numbers") {
    auto r2 = c.next("b", 1);
    auto r3 = c.next("c", 1);
    std::vector<IncomingRecord> batch = {r3, r2};
    CHECK_THROWS_AS(store.env().write([&](WriteTxn& t) { store.append(t, batch); }), ChainError);
  }
  SECTION("a gap") {
    c.next("skipped", 1);
    auto r3 = c.next("c", 1);
    CHECK_THROWS_AS(store.env().write([&](WriteTxn& t) { store.append(t, std::span(&r3, 1)); }), ChainError);
  }
  store.read([&](const StoreReader& r) {
    CHECK(r.head(c.key.public_key())->seq == 1);
    CHECK(r.last_local() == 1);
    return 0;
  });
  CHECK(count(store, {}) == 1);
}

TEST_CASE("latest versions, history and indexes follow updates and tombstones", "[storage]") {
  test::TempDir tmp;
  RecordStore store(tmp.path());
  Chain c;
  std::vector<IncomingRecord> batch = {c.next("a", 1, 0b01), c.next("b", 1, 0b10), c.next("a", 2, 0b10)};
  store.env().write([&](WriteTxn& t) { store.append(t, batch); });
  ListQuery theme0;
  theme0.theme = 0;
  ListQuery theme1;
  theme1.theme = 1;
  ListQuery practices;
  practices.kind = Kind::practice;
  CHECK(count(store, theme0) == 0);  // "a" moved from theme 0 to theme 1
  CHECK(count(store, theme1) == 2);
  CHECK(count(store, practices) == 2);
  store.read([&](const StoreReader& r) {
    CHECK(r.latest(c.key.public_key(), "a")->version == 2);
    CHECK(r.history(c.key.public_key(), "a").size() == 2);
    CHECK(r.count_latest(Kind::practice) == 2);
    return 0;
  });

  auto tomb = c.next("a", 3, 0, "", true);
  store.env().write([&](WriteTxn& t) { store.append(t, std::span(&tomb, 1)); });
  CHECK(count(store, theme1) == 1);
  CHECK(count(store, practices) == 1);
  store.read([&](const StoreReader& r) {
    CHECK(r.latest(c.key.public_key(), "a")->tombstone);
    CHECK(r.history(c.key.public_key(), "a").size() == 3);  // every version stays readable
    return 0;
  });
}

TEST_CASE("the map grows instead of failing with MDB_MAP_FULL", "[storage]") {
  test::TempDir tmp;
  EnvOptions options;
  options.initial_map_bytes = 1 << 20;  // 1 MiB
  RecordStore store(tmp.path(), options);
  Chain c;
  std::string body(3000, 'x');
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<IncomingRecord> records;
    for (int i = 0; i < 200; ++i) records.push_back(c.next("r" + std::to_string(batch * 200 + i), 1, 1, body));
    store.env().write([&](WriteTxn& t) { store.append(t, records); });
  }
  CHECK(store.env().map_size() > (size_t{1} << 20));
  CHECK(count(store, {}) == 2000);
}

TEST_CASE("a ceiling on the map gives a clear error and keeps the store as it was", "[storage]") {
  test::TempDir tmp;
  EnvOptions options;
  options.initial_map_bytes = 1 << 20;
  options.max_map_bytes = 2 << 20;
  RecordStore store(tmp.path(), options);
  Chain c;
  std::vector<IncomingRecord> records;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string incompressible(3000, ' ');
    for (auto& ch : incompressible) ch = static_cast<char>('a' + rng() % 26);
    records.push_back(c.next("r" + std::to_string(i), 1, 1, incompressible));
  }
  CHECK_THROWS_WITH(store.env().write([&](WriteTxn& t) { store.append(t, records); }), Catch::Contains("map ceiling"));
  CHECK(count(store, {}) == 0);
}

TEST_CASE("an unknown store format version is a clear error", "[storage]") {
  test::TempDir tmp;
  {
    RecordStore store(tmp.path());
    MDB_dbi meta = store.env().open_table("meta");
    store.env().write([&](WriteTxn& t) { t.put(meta, "format", be<uint32_t>(99)); });
  }
  CHECK_THROWS_AS(RecordStore(tmp.path()), NewerStoreFormat);
  CHECK_THROWS_WITH(RecordStore(tmp.path()),
                    Catch::Contains("is in format 99") &&
                        Catch::Contains("reads formats up to " + std::to_string(kStoreFormatVersion)));
}

TEST_CASE("a store of an older format opens unchanged until migrated, in one transaction", "[storage]") {
  test::TempDir tmp;
  MDB_dbi meta = 0;
  {
    RecordStore store(tmp.path());
    CHECK(store.opened_format().format == kStoreFormatVersion);
    CHECK_FALSE(store.pending_migration());
    meta = store.env().open_table("meta");
    store.env().write([&](WriteTxn& t) {
      t.put(meta, "format", be<uint32_t>(1));
      t.del(meta, "release");
      t.put(meta, "grants", "1");
      t.put(meta, "recovery", "1");
    });
  }
  {
    RecordStore store(tmp.path(), EnvOptions{.read_only = true});
    CHECK(store.pending_migration() == 1u);
  }
  RecordStore store(tmp.path());
  REQUIRE(store.pending_migration() == 1u);
  {
    ReadTxn t(store.env());
    CHECK(get_be<uint32_t>(*t.get(meta, "format")) == 1);  // opening wrote nothing
  }
  store.migrate();
  CHECK_FALSE(store.pending_migration());
  ReadTxn t(store.env());
  CHECK(get_be<uint32_t>(*t.get(meta, "format")) == kStoreFormatVersion);
  CHECK(t.get(meta, "release").has_value());
  CHECK_FALSE(t.get(meta, "grants"));
  CHECK_FALSE(t.get(meta, "recovery"));
}

TEST_CASE("a read-only view of a store from before key records reads its new tables as empty", "[storage]") {
  test::TempDir dir;
  PublicKey someone{};
  someone[0] = 7;
  {
    RecordStore store(dir.path());
    // What a release before 0.2 left: no grants or withdrawn tables.
    store.env().write([&](WriteTxn& txn) {
      for (const char* name : {"grants", "withdrawn"}) {
        MDB_dbi dbi = 0;
        REQUIRE(mdb_dbi_open(txn.raw(), name, 0, &dbi) == 0);
        REQUIRE(mdb_drop(txn.raw(), dbi, 1) == 0);
      }
    });
  }
  {
    EnvOptions read_only;
    read_only.read_only = true;
    RecordStore store(dir.path(), read_only);
    store.read([&](const StoreReader& r) {
      CHECK_FALSE(r.grant(someone, someone));
      CHECK(r.grants(someone).empty());
      CHECK_FALSE(r.is_withdrawn(1));
      return 0;
    });
  }
  RecordStore writable(dir.path());  // a writer creates them
  writable.read([&](const StoreReader& r) {
    CHECK(r.grants(someone).empty());
    return 0;
  });
}

TEST_CASE("a store of a release before recovery keys reads the commitments of the genesis records it holds",
          "[storage][identity]") {
  test::TempDir dir;
  test::KeyedChain city;
  SigningKey recovery = SigningKey::generate();
  SignedRecord genesis = city.genesis(&recovery);
  {
    RecordStore store(dir.path());
    IncomingRecord in{genesis, verify_record(genesis).value(), {}, {}};
    store.env().write([&](WriteTxn& t) { store.append(t, std::span<const IncomingRecord>(&in, 1)); });
    // What such a release left: the genesis record held, its commitment never read.
    store.env().write([&](WriteTxn& txn) {
      MDB_dbi dbi = 0;
      REQUIRE(mdb_dbi_open(txn.raw(), "recovery", 0, &dbi) == 0);
      REQUIRE(mdb_drop(txn.raw(), dbi, 0) == 0);
      store.erase_meta(txn, "recovery");
      store.put_meta(txn, "format", be<uint32_t>(1));
    });
    store.read([&](const StoreReader& r) {
      CHECK_FALSE(r.recovery_commitment(city.root.public_key()));
      return 0;
    });
  }
  RecordStore reopened(dir.path());
  REQUIRE(reopened.pending_migration() == 1u);
  reopened.migrate();
  reopened.read([&](const StoreReader& r) {
    auto c = r.recovery_commitment(city.root.public_key());
    REQUIRE(c);
    CHECK(*c == recovery_commitment(recovery.public_key()));
    return 0;
  });
}

TEST_CASE("records of kinds an older release did not know are indexed, and erasures applied, on upgrade",
          "[storage][evolution]") {
  // An older release held an erasure and a moderation record as an unknown kind: in the log,
  // outside every index, the erasure not applied.
  test::TempDir dir;
  test::KeyedChain city;
  std::vector<SignedRecord> chain = {city.genesis(), city.practice("named-person")};
  ErasureStatement erased{"named-person", {1}, "names a person"};
  chain.push_back(city.sign(Kind::erasure, erasure_id(erased, 3), erasure_body(erased)));
  ModerationStatement decision{"eccar", ModerationAction::remove_member, std::string(64, 'b'), "left"};
  chain.push_back(city.sign(Kind::moderation, moderation_id("eccar", decision.target), moderation_body(decision)));
  const PublicKey origin = city.root.public_key();
  {
    RecordStore store(dir.path());
    std::vector<IncomingRecord> in;
    for (const auto& r : chain) {
      in.push_back({r, verify_record(r).value(), {}, {}});
      if (in.back().header.kind == Kind::erasure || in.back().header.kind == Kind::moderation)
        in.back().header.kind = Kind::unknown;  // as that release decoded it
    }
    store.env().write([&](WriteTxn& t) {
      store.append(t, in);
      store.put_meta(t, "kinds", std::string("\0\0\0\x09", 4));  // it knew kinds up to `key`
    });
    store.read([&](const StoreReader& r) {
      CHECK_FALSE(r.latest(origin, moderation_id("eccar", decision.target)));
      CHECK(r.latest(origin, "named-person"));  // its text still there
      return 0;
    });
  }
  RecordStore reopened(dir.path());
  reopened.read([&](const StoreReader& r) {
    auto m = r.latest(origin, moderation_id("eccar", decision.target));
    REQUIRE(m);
    CHECK(m->kind == Kind::moderation);
    ListQuery q;
    q.kind = Kind::moderation;
    size_t listed = 0;
    r.list(q, [&](const PublicKey&, std::string_view, const LatestEntry&) { return ++listed, true; });
    CHECK(listed == 1);
    auto practice = r.history(origin, "named-person");
    REQUIRE(practice.size() == 1);
    CHECK(r.erased_by(practice[0]));
    auto view = r.at(practice[0]);
    REQUIRE(view);
    CHECK(view->is_stub());
    return 0;
  });
  // Done once: the mark says this release's kinds are indexed.
  RecordStore again(dir.path());
  again.read([&](const StoreReader& r) {
    CHECK(r.latest(origin, moderation_id("eccar", decision.target)));
    return 0;
  });
}
