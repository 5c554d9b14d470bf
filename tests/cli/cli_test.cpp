// End-to-end: the real agora binary on temp data dirs.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/cli_files.hpp"
#include "cli/process.hpp"
#include "temp_dir.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::string practice_line(const std::string& id, const std::string& theme = "employment",
                          const std::string& visibility = "public") {
  return json{{"kind", "practice"}, {"id", id},          {"title", "Practice " + id}, {"summary", "What was done."},
              {"language", "en"},   {"themes", {theme}}, {"visibility", visibility}}
      .dump();
}

// The lines of a file that are not progress reports: what a failed import said.
std::string errors_in(const std::string& path) {
  std::ifstream in(path);
  std::string line, out;
  while (std::getline(in, line))
    if (!line.starts_with("import: ")) out += line + "\n";
  return out;
}

struct Node {
  TempDir tmp;
  std::string data = tmp.str("node");
  std::string id;
  explicit Node(const std::string& city = "Malmö", const std::string& country = "SE") {
    auto r = run_agora({"init", "--data", data, "--city", city, "--country", country, "--region", "Europe"});
    REQUIRE(r.exit_code == 0);
    id = r.out.substr(0, r.out.find('\n'));
  }
};

}  // namespace

TEST_CASE("init creates a key file readable only by the owner and prints the node id", "[cli]") {
  Node node;
  CHECK(node.id.size() == 64);
  struct stat st {};
  REQUIRE(stat((node.data + "/node.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto id = run_agora({"id", "--data", node.data});
  CHECK(id.exit_code == 0);
  CHECK(id.out == node.id + "\n");
  CHECK(run_agora({"--data", node.data, "id"}).out == node.id + "\n");  // before the verb, too
  // init made three keys, each readable by its owner only: the node's, the root, the recovery key.
  for (const char* file : {"root.key", "recovery.key"}) {
    REQUIRE(stat((node.data + "/" + file).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  // The private key never appears in what agora prints.
  std::ifstream key_file(node.data + "/node.key");
  std::stringstream key;
  key << key_file.rdbuf();
  auto status = run_agora({"status", "--data", node.data, "--json"});
  CHECK(status.out.find("PRIVATE") == std::string::npos);
  CHECK(json::parse(status.out)["city"]["name"] == "Malmö");
}

TEST_CASE("init on an existing node refuses and changes nothing", "[cli]") {
  Node node;
  std::string before = store_state(node.data);
  auto r = run_agora({"init", "--data", node.data, "--city", "Lyon", "--country", "FR"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.starts_with("error: data dir"));
  CHECK(store_state(node.data) == before);
  CHECK(run_agora({"id", "--data", node.data}).out == node.id + "\n");
}

TEST_CASE("init validates its arguments before touching the disk", "[cli]") {
  TempDir tmp;
  auto r = run_agora({"init", "--data", tmp.str("n"), "--city", "Lyon", "--country", "France"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("country") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "n" / "node.key"));
  CHECK(run_agora({"init", "--data", tmp.str("m")}).exit_code == 2);  // --city missing: usage
}

TEST_CASE("publish signs and stores a record, and updates are new versions", "[cli]") {
  Node node;
  std::string file = node.tmp.str("p.json");
  write_file(file, practice_line("job-bridge"));
  auto r = run_agora({"publish", "--data", node.data, file});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "practice job-bridge v1\n");
  CHECK(run_agora({"publish", "--data", node.data, file}).out == "practice job-bridge v1 (unchanged)\n");
  auto updated = run_agora({"publish", "--data", node.data, "-"}, practice_line("job-bridge", "housing"));
  CHECK(updated.out == "practice job-bridge v2\n");

  auto history = run_agora({"show", "--data", node.data, "job-bridge", "--history", "--json"});
  REQUIRE(history.exit_code == 0);
  json versions = json::parse(history.out);
  REQUIRE(versions.size() == 2);
  CHECK(versions[0]["themes"][0] == "employment");
  CHECK(versions[1]["themes"][0] == "housing");
  CHECK(versions[1]["city"] == "Malmö");
  CHECK(versions[1]["origin"] == node.id);

  auto by_origin = run_agora({"show", "--data", node.data, node.id.substr(0, 10) + "/job-bridge", "--json"});
  CHECK(json::parse(by_origin.out)["version"] == 2);
  CHECK(run_agora({"verify", "--data", node.data}).exit_code == 0);
}

TEST_CASE("bad input gets a one-line error naming file and field, exit 3, and the store unchanged", "[cli]") {
  Node node;
  run_agora({"publish", "--data", node.data, "-"}, practice_line("existing"));
  std::string before = store_state(node.data);
  std::string file = node.tmp.str("bad.json");
  json good = json::parse(practice_line("new-one"));

  auto expect_rejected = [&](const std::string& content, const std::string& needle) {
    write_file(file, content);
    auto r = run_agora({"publish", "--data", node.data, file});
    CHECK(r.exit_code == 3);
    CHECK(r.err.starts_with("error: " + file + ": "));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(needle) != std::string::npos);
    CHECK(store_state(node.data) == before);
  };
  expect_rejected("{\"kind\": \"practice\", ", "invalid JSON");
  json wrong_type = good;
  wrong_type["themes"] = "employment";
  expect_rejected(wrong_type.dump(), "themes: expected an array");
  json missing = good;
  missing.erase("title");
  expect_rejected(missing.dump(), "title: required field is missing");
  json vocab = good;
  vocab["themes"] = {"housing", "employment", "emplyment"};
  expect_rejected(vocab.dump(), "themes[2]: unknown theme \"emplyment\"; did you mean \"employment\"?");
  expect_rejected("{\"kind\":\"practice\",\"title\":\"\xc3\x28\"}", "UTF-8");
  json big = good;
  big["summary"] = std::string(9000, 'x');
  expect_rejected(big.dump(), "summary: longer than 8000 characters");
  json claim = good;
  claim["city"] = "Toronto";
  expect_rejected(claim.dump(), "city: record claims city \"Toronto\"");
  // A key written twice (peers refuse such a body: parsers disagree on which value wins).
  std::string twice = good.dump();
  twice.insert(twice.size() - 1, ",\"title\":\"Another title\"");
  expect_rejected(twice, "title: this key appears twice in one object");

  auto not_ours = run_agora({"retract", "--data", node.data, std::string(64, 'b') + "/existing"});
  CHECK(not_ours.exit_code == 3);
  CHECK(store_state(node.data) == before);
  auto unknown = run_agora({"retract", "--data", node.data, "no-such-record"});
  CHECK(unknown.exit_code == 3);
  CHECK(unknown.err == "error: retract: this city has no record \"no-such-record\"\n");
  CHECK(store_state(node.data) == before);
}

TEST_CASE("import validates the whole file first: one bad line writes nothing", "[cli][import]") {
  Node node;
  std::string before = store_state(node.data);
  std::string file = node.tmp.str("batch.ndjson");
  std::string text;
  for (int i = 0; i < 50; ++i) text += practice_line("p" + std::to_string(i)) + "\n";
  text += "\n";  // blank lines are skipped
  json bad = json::parse(practice_line("bad"));
  bad["frameworks"] = {{{"framework", "eccar-10pt"}, {"ref", "12"}}};
  write_file(file, text + bad.dump() + "\n");
  auto r = run_agora({"import", "--data", node.data, file});
  CHECK(r.exit_code == 3);
  CHECK(r.err == "error: " + file + ":52: frameworks[0].ref: unknown ref \"12\" in eccar-10pt (valid: 1-10)\n");
  CHECK(store_state(node.data) == before);

  write_file(file, text);
  auto ok = run_agora({"import", "--data", node.data, file, "--json"});
  REQUIRE(ok.exit_code == 0);
  json summary = json::parse(ok.out);
  CHECK(summary["created"] == 50);
  auto again = run_agora({"import", "--data", node.data, file, "--json"});
  CHECK(json::parse(again.out)["unchanged"] == 50);
  auto list = run_agora({"list", "--data", node.data, "--kind", "practice", "--json"});
  CHECK(json::parse(list.out).size() == 50);
}

TEST_CASE("list filters by kind, city and theme, and export carries only public records", "[cli]") {
  Node node;
  std::string text = practice_line("a", "housing") + "\n" + practice_line("b", "employment") + "\n" +
                     practice_line("c", "housing", "private") + "\n" + practice_line("d", "housing", "partners") + "\n";
  write_file(node.tmp.str("f.ndjson"), text);
  REQUIRE(run_agora({"import", "--data", node.data, node.tmp.str("f.ndjson")}).exit_code == 0);
  auto housing = json::parse(run_agora({"list", "--data", node.data, "--theme", "housing", "--json"}).out);
  CHECK(housing.size() == 3);
  auto malmo = json::parse(run_agora({"list", "--data", node.data, "--city", "malmo", "--json"}).out);
  CHECK(malmo.size() == 6);  // four practices, the city profile and the node key's delegation
  json dated = json::parse(practice_line("dated", "housing"));
  dated["started"] = 2007;
  REQUIRE(run_agora({"publish", "--data", node.data, "-"}, dated.dump()).exit_code == 0);
  auto in_2007 = json::parse(run_agora({"list", "--data", node.data, "--year", "2007", "--json"}).out);
  REQUIRE(in_2007.size() == 1);
  CHECK(in_2007[0]["id"] == "dated");
  CHECK(json::parse(run_agora({"list", "--data", node.data, "--year", "2000-2006", "--json"}).out).empty());
  CHECK(json::parse(run_agora({"list", "--data", node.data, "--year", "2000-2010", "--theme", "housing", "--json"}).out)
            .size() == 1);
  CHECK(run_agora({"list", "--data", node.data, "--year", "07"}).exit_code == 3);
  REQUIRE(run_agora({"retract", "--data", node.data, "dated"}).exit_code == 0);
  auto bad_theme = run_agora({"list", "--data", node.data, "--theme", "hosing"});
  CHECK(bad_theme.exit_code == 3);
  CHECK(bad_theme.err.find("did you mean \"housing\"") != std::string::npos);

  auto ndjson = run_agora({"export", "--data", node.data, "--format", "ndjson"});
  REQUIRE(ndjson.exit_code == 0);
  std::istringstream lines(ndjson.out);
  std::string line;
  std::vector<std::string> ids;
  while (std::getline(lines, line)) ids.push_back(json::parse(line)["id"]);
  std::sort(ids.begin(), ids.end());
  CHECK(ids.size() == 4);  // and the node key's delegation (key records are public)
  ids.erase(std::remove_if(ids.begin(), ids.end(), [](const std::string& id) { return id.starts_with("key-"); }),
            ids.end());
  CHECK(ids == std::vector<std::string>{"a", "b", "profile"});
  auto csv = run_agora({"export", "--data", node.data, "--format", "csv", "--kind", "practice"});
  CHECK(csv.out.starts_with("\xEF\xBB\xBForigin,city,country,kind,id,"));
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 3);

  CHECK(run_agora({"retract", "--data", node.data, "a"}).out == "practice a v2 retracted\n");
  CHECK(json::parse(run_agora({"list", "--data", node.data, "--theme", "housing", "--json"}).out).size() == 2);
  auto shown = json::parse(run_agora({"show", "--data", node.data, "a", "--json"}).out);
  CHECK(shown["retracted"] == true);
  CHECK_FALSE(shown.contains("retraction"));

  // With a reason: the tombstone and, right after it, a note saying why (data-model.md).
  CHECK(run_agora({"retract", "--data", node.data, "b", "--reason", "project ended in 2025"}).out ==
        "practice b v2 retracted (reason published with it)\n");
  shown = json::parse(run_agora({"show", "--data", node.data, "b", "--json"}).out);
  CHECK(shown["retraction"]["reason"] == "project ended in 2025");
  CHECK(run_agora({"show", "--data", node.data, "b", "--history"}).out.find("[retracted: project ended in 2025]") !=
        std::string::npos);
  CHECK(run_agora({"list", "--data", node.data, "--kind", "retraction"}).out.find("retracts b v2: project ended") !=
        std::string::npos);
  CHECK(run_agora({"verify", "--data", node.data}).exit_code == 0);
  // A note is written only by retract: published by hand, it is refused.
  auto forged = run_agora({"publish", "--data", node.data, "-"},
                          R"({"kind":"retraction","target":"a","tombstone_version":2,"reason":"x"})");
  CHECK(forged.exit_code == 3);
  CHECK(forged.err.find("written by `agora retract --reason`") != std::string::npos);
}

TEST_CASE("usage errors exit 2 and every verb has --help", "[cli]") {
  CHECK(run_agora({"frobnicate"}).exit_code == 2);
  CHECK(run_agora({"publish"}).exit_code == 2);
  CHECK(run_agora({"export", "--format", "xml"}).exit_code == 2);
  for (const char* verb :
       {"init", "id", "status", "publish", "import", "list", "show", "retract", "verify", "export"}) {
    auto r = run_agora({verb, "--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--data") != std::string::npos);
  }
  TempDir tmp;
  auto none = run_agora({"list", "--data", tmp.str("missing")});
  CHECK(none.exit_code == 1);
  CHECK(none.err.starts_with("error: no node in"));
}

TEST_CASE("two processes importing into one data dir at once keep one valid chain", "[cli][import]") {
  Node node;
  std::string a, b;
  for (int i = 0; i < 3000; ++i) a += practice_line("a" + std::to_string(i)) + "\n";
  for (int i = 0; i < 3000; ++i) b += practice_line("b" + std::to_string(i)) + "\n";
  write_file(node.tmp.str("a.ndjson"), a);
  write_file(node.tmp.str("b.ndjson"), b);
  auto pa =
      start_agora({"import", "--batch", "100", "--data", node.data, node.tmp.str("a.ndjson")}, node.tmp.str("a.err"));
  auto pb =
      start_agora({"import", "--batch", "100", "--data", node.data, node.tmp.str("b.ndjson")}, node.tmp.str("b.err"));
  // Each keeps writing while the other signs: neither may give up on a chain that moves.
  int exit_a = wait_exit(pa.pid), exit_b = wait_exit(pb.pid);
  INFO("a: " << errors_in(node.tmp.str("a.err")) << "b: " << errors_in(node.tmp.str("b.err")));
  CHECK(exit_a == 0);
  CHECK(exit_b == 0);
  auto verify = run_agora({"verify", "--data", node.data, "--json"});
  CHECK(verify.exit_code == 0);
  CHECK(json::parse(verify.out)["records"] == 6002);  // and init's genesis record and node key
}

TEST_CASE("kill -9 during import keeps every record it reported as stored", "[cli][import]") {
  Node node;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += practice_line("k" + std::to_string(i)) + "\n";
  write_file(node.tmp.str("k.ndjson"), text);
  for (int round = 0; round < 3; ++round) {
    auto p =
        start_agora({"import", "--batch", "500", "--data", node.data, node.tmp.str("k.ndjson")}, node.tmp.str("k.err"));
    // Let it commit some batches, then kill it at an arbitrary point.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    size_t reported = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream err(node.tmp.str("k.err"));
      std::string line;
      while (std::getline(err, line))
        if (line.starts_with("import: ")) reported = std::stoul(line.substr(8));
      if (reported >= 1000 + 1500 * static_cast<size_t>(round)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(reported >= 1000 + 1500 * static_cast<size_t>(round));
    kill(p.pid, SIGKILL);
    CHECK(wait_exit(p.pid) == 128 + SIGKILL);  // it was still importing when killed
    auto verify = run_agora({"verify", "--data", node.data, "--json"});
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    auto status = json::parse(run_agora({"status", "--data", node.data, "--json"}).out);
    CHECK(status["records"]["practice"].get<size_t>() >= reported);
    CHECK(status["records"]["practice"].get<size_t>() < 20000);  // killed mid-import
  }
  // A later complete import finishes the job without duplicates.
  auto done = run_agora({"import", "--data", node.data, node.tmp.str("k.ndjson"), "--json"});
  REQUIRE(done.exit_code == 0);
  auto status = json::parse(run_agora({"status", "--data", node.data, "--json"}).out);
  CHECK(status["records"]["practice"] == 20000);
  CHECK(status["log_length"] == 20002);
}

TEST_CASE("agora search finds inflected words without accents and marks them", "[cli][search]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "København", "--country", "DK"}).exit_code == 0);
  std::string practice = R"({"kind":"practice","id":"jobspor","title":"Jobspor","summary":"Et program der styrker )"
                         R"(beskæftigelse blandt flygtninge.","language":"da","themes":["employment"]})";
  REQUIRE(run_agora({"publish", "--data", data, "-"}, practice).exit_code == 0);
  auto found = run_agora({"search", "--data", data, "beskaeftigelsen"});
  INFO(found.err);
  REQUIRE(found.exit_code == 0);
  CHECK(found.out.find("jobspor") != std::string::npos);
  CHECK(found.out.find("[beskæftigelse]") != std::string::npos);  // not a terminal: brackets
  CHECK(run_agora({"search", "--data", data, "Kobenhavn", "--theme", "housing"}).out.find("0 of 0") !=
        std::string::npos);
  auto typo = run_agora({"search", "--data", data, "x", "--theme", "employmnt"});
  CHECK(typo.exit_code == 3);
  CHECK(typo.err.find("did you mean \"employment\"") != std::string::npos);
  auto json_out = nlohmann::json::parse(run_agora({"search", "--data", data, "--json", "program"}).out);
  CHECK(json_out["total"] == 1);
  CHECK(json_out["items"][0]["city"] == "København");
}

TEST_CASE("staff publish from their own machine through --remote: the key stays there, the node sequences",
          "[cli][identity]") {
  Node node("Lyon", "FR");
  std::string ana = node.tmp.str("ana.key"), bo = node.tmp.str("bo.key");
  REQUIRE(run_agora({"key", "add", "Ana", "--role", "publisher", "--out", ana, "--data", node.data}).exit_code == 0);
  REQUIRE(run_agora({"key", "add", "Bo", "--role", "reporter", "--out", bo, "--data", node.data}).exit_code == 0);
  // How a laptop reaches the node: here a local command; in the field `ssh lyon-node agora`.
  const std::string remote = "env AGORA_DATA=" + node.data + " " + AGORA_BINARY;
  // Four publishes at once each get a position of their own: nothing forks.
  std::vector<Background> running;
  for (int i = 0; i < 4; ++i) {
    std::string file = node.tmp.str("p" + std::to_string(i) + ".json");
    write_file(file, practice_line("remote-" + std::to_string(i), "employment"));
    running.push_back(start_agora({"--key", ana, "--remote", remote, "publish", file},
                                  node.tmp.str("err" + std::to_string(i)), node.tmp.str("out" + std::to_string(i))));
  }
  for (auto& b : running) CHECK(wait_exit(b.pid) == 0);
  auto status = json::parse(run_agora({"status", "--data", node.data, "--json"}).out);
  CHECK(status["records"]["practice"] == 4);
  CHECK(run_agora({"verify", "--data", node.data}).exit_code == 0);
  auto shown = json::parse(run_agora({"show", "remote-2", "--data", node.data, "--json"}).out);
  CHECK(shown["signed_by"]["name"] == "Ana");

  std::string again = node.tmp.str("p0.json");
  CHECK_THAT(run_agora({"--key", ana, "--remote", remote, "publish", again}).out, Catch::Contains("(unchanged)"));
  std::string before = store_state(node.data);
  auto by_reporter = run_agora({"--key", bo, "--remote", remote, "publish", node.tmp.str("p1.json")});
  CHECK(by_reporter.exit_code == 3);
  CHECK_THAT(by_reporter.err, Catch::Contains("reporter key, which may not sign a practice"));
  std::string stranger = node.tmp.str("stranger.key");
  REQUIRE(run_agora({"key", "generate", stranger}).exit_code == 0);
  auto by_stranger = run_agora({"--key", stranger, "--remote", remote, "publish", node.tmp.str("p1.json")});
  CHECK(by_stranger.exit_code == 3);
  CHECK_THAT(by_stranger.err, Catch::Contains("not a key this city delegated"));
  CHECK(store_state(node.data) == before);  // refusals change nothing
  auto no_key = run_agora({"--remote", remote, "publish", node.tmp.str("p1.json")});
  CHECK(no_key.exit_code == 2);  // usage: a missing option
  CHECK_THAT(no_key.err, Catch::Contains("needs your key"));
}

TEST_CASE("a --remote connection that drops before or during a submission leaves one clear line and no fork",
          "[cli][identity]") {
  Node node("Lyon", "FR");
  std::string ana = node.tmp.str("ana.key");
  REQUIRE(run_agora({"key", "add", "Ana", "--role", "publisher", "--out", ana, "--data", node.data}).exit_code == 0);
  const std::string agora = "env AGORA_DATA=" + node.data + " " + AGORA_BINARY;
  // Stand-ins for an ssh link that breaks (ssh exits 255) at one step of the exchange.
  auto link = [&](const std::string& name, const std::string& on_draft, const std::string& on_put) {
    std::string path = node.tmp.str(name + ".sh");
    write_file(path, "#!/bin/sh\ncase \"$*\" in\n  *\"submission draft\"*) " + on_draft + " ;;\n  *) " + on_put +
                         " ;;\nesac\n");
    ::chmod(path.c_str(), 0755);
    return path;
  };
  std::string file = node.tmp.str("p.json");
  write_file(file, practice_line("remote-1"));
  const std::string before = store_state(node.data);

  // Gone before the node read anything (the laptop's input meets a closed pipe).
  auto dead = run_agora({"--key", ana, "--remote", link("dead", "exit 255", "exit 255"), "publish", file});
  CHECK(dead.exit_code == 1);
  CHECK_THAT(dead.err, Catch::Contains("ended before it answered (exit 255); nothing was published"));
  // Gone after the draft, before the signed record reached the node.
  auto before_put = run_agora(
      {"--key", ana, "--remote", link("before", agora + " \"$@\"", "cat >/dev/null; exit 255"), "publish", file});
  CHECK(before_put.exit_code == 1);
  CHECK_THAT(before_put.err, Catch::Contains("may or may not be published"));
  CHECK(store_state(node.data) == before);

  // Gone after the node stored it, before its answer came back: running again is safe.
  auto after_put =
      run_agora({"--key", ana, "--remote", link("after", agora + " \"$@\"", agora + " \"$@\" >/dev/null; exit 255"),
                 "publish", file});
  CHECK(after_put.exit_code == 1);
  CHECK_THAT(after_put.err, Catch::Contains("run the same command again"));
  auto again = run_agora({"--key", ana, "--remote", agora, "publish", file});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("(unchanged)"));
  auto status = json::parse(run_agora({"status", "--data", node.data, "--json"}).out);
  CHECK(status["records"]["practice"] == 1);
  auto history = json::parse(run_agora({"show", "remote-1", "--history", "--data", node.data, "--json"}).out);
  CHECK(history.size() == 1);
  CHECK(run_agora({"verify", "--data", node.data}).exit_code == 0);
}

TEST_CASE("erase and --revive: bad requests get one clear line and change nothing", "[cli][erasure]") {
  Node node("Lyon", "FR");
  std::string file = node.tmp.str("p.json");
  write_file(file, practice_line("mentoring"));
  REQUIRE(run_agora({"publish", file, "--data", node.data}).exit_code == 0);
  const std::string before = store_state(node.data);
  auto refused = [&](const std::vector<std::string>& args, const std::string& says) {
    auto r = run_agora(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, Catch::Contains(says));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(store_state(node.data) == before);
  };
  refused({"erase", "mentoring", "--data", node.data}, "--reason is required");
  refused({"erase", "nothing-here", "--reason", "x", "--data", node.data}, "no record \"nothing-here\"");
  refused({"erase", "profile", "--reason", "x", "--data", node.data}, "only practices, plans, reports and adoptions");
  refused({"erase", "mentoring", "--version", "7", "--reason", "x", "--data", node.data}, "has no version 7");
  refused({"erase", "mentoring", "--version", "1", "--all-versions", "--reason", "x", "--data", node.data}, "excludes");
  Node other("Malmö", "SE");
  refused({"erase", other.id + "/profile", "--reason", "x", "--data", node.data}, "belongs to another city");

  auto erased = run_agora({"erase", "mentoring", "--reason", "names a person", "--data", node.data});
  INFO(erased.err);
  REQUIRE(erased.exit_code == 0);
  CHECK_THAT(erased.out, Catch::Contains("practice mentoring: v1 erased"));
  const std::string after = store_state(node.data);
  auto twice = run_agora({"erase", "mentoring", "--reason", "again", "--data", node.data});
  CHECK(twice.exit_code == 3);
  CHECK_THAT(twice.err, Catch::Contains("already erased"));
  // Publishing or importing the id again brings it back only when asked.
  auto again = run_agora({"publish", file, "--data", node.data});
  CHECK(again.exit_code == 3);
  CHECK_THAT(again.err, Catch::Contains("\"mentoring\" was erased; publishing it again needs --revive"));
  std::string lines = node.tmp.str("lines.ndjson");
  write_file(lines, practice_line("fresh") + "\n" + practice_line("mentoring") + "\n");
  auto imported = run_agora({"import", lines, "--data", node.data});
  CHECK(imported.exit_code == 3);
  CHECK_THAT(imported.err, Catch::Contains("lines.ndjson:2: id: \"mentoring\" was erased"));
  CHECK(store_state(node.data) == after);
  auto revived = run_agora({"publish", file, "--revive", "--data", node.data});
  CHECK(revived.exit_code == 0);
  CHECK_THAT(revived.out, Catch::Contains("practice mentoring v2"));
  auto history = json::parse(run_agora({"show", "mentoring", "--history", "--json", "--data", node.data}).out);
  REQUIRE(history.size() == 2);
  CHECK(history[0]["erased"]["reason"] == "names a person");
  CHECK_FALSE(history[0].contains("summary"));
  CHECK(history[1]["summary"] == "What was done.");
  CHECK(run_agora({"verify", "--data", node.data}).exit_code == 0);

  // A retraction, too, is undone only with --revive.
  REQUIRE(run_agora({"retract", "mentoring", "--data", node.data}).exit_code == 0);
  auto after_retract = run_agora({"publish", file, "--data", node.data});
  CHECK(after_retract.exit_code == 3);
  CHECK_THAT(after_retract.err, Catch::Contains("was retracted; publishing it again needs --revive"));
}

TEST_CASE("compact refuses a data dir a running node holds, and keeps every record", "[cli][erasure]") {
  Node node("Lyon", "FR");
  std::string file = node.tmp.str("p.json");
  write_file(file, practice_line("mentoring"));
  REQUIRE(run_agora({"publish", file, "--data", node.data}).exit_code == 0);
  std::string out = node.tmp.str("serve.out");
  auto serving = start_agora({"serve", "--data", node.data, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"},
                             node.tmp.str("serve.err"), out);
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(out);
    std::string line;
    if (std::getline(in, line) && std::getline(in, line)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto busy = run_agora({"compact", "--data", node.data});
  CHECK(busy.exit_code == 3);
  CHECK_THAT(busy.err, Catch::Contains("in use by another agora process"));
  ::kill(serving.pid, SIGTERM);
  wait_exit(serving.pid);
  const std::string before = store_state(node.data);
  auto compacted = run_agora({"compact", "--data", node.data});
  INFO(compacted.err);
  CHECK(compacted.exit_code == 0);
  CHECK_THAT(compacted.out, Catch::Contains("compacted: store"));
  CHECK(store_state(node.data) == before);
  CHECK(run_agora({"verify", "--data", node.data}).exit_code == 0);
}
