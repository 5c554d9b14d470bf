// agora demo: six real `agora serve` processes on loopback that converge, answer over
// HTTP, stop on Ctrl-C (SIGINT) and start again from the same data.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <map>
#include <regex>

#include "cli/process.hpp"
#include "http_client.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"
#include "temp_dir.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct DemoRun {
  Background process;
  std::string out_file;
  std::map<std::string, std::string> http;  // city -> base URL
  std::map<std::string, std::string> node;  // city -> short node id
  double converged_s = 0;

  DemoRun(const std::string& root, const std::string& out) : out_file(out) {
    process = start_agora({"demo", "--data", root, "--any-ports"}, out + ".err", out);
  }
  // Waits for "converged in S s" and reads each city's URLs from what the demo printed.
  bool wait_converged() {
    bool done = wait_until([&] { return read_file(out_file).find("Ctrl-C stops every node") != std::string::npos; },
                           std::chrono::seconds(60));
    std::string text = read_file(out_file);
    std::regex line(R"(\n  (\S+(?: \S+)?) +(http://127\.0\.0\.1:\d+)/ +sync \S+ +node (\w+))");
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it)
      http[(*it)[1]] = (*it)[2], node[(*it)[1]] = (*it)[3];
    std::smatch m;
    if (std::regex_search(text, m, std::regex(R"(converged in ([0-9.]+) s)"))) converged_s = std::stod(m[1]);
    return done;
  }
  int interrupt() {
    ::kill(process.pid, SIGINT);
    return wait_exit(process.pid);
  }
};

}  // namespace

TEST_CASE("agora demo starts six cities that converge, answer, stop on Ctrl-C and start again", "[demo]") {
  TempDir tmp;
  std::string root = tmp.str("demo");
  DemoRun first(root, tmp.str("first.out"));
  INFO(read_file(first.out_file) << read_file(first.out_file + ".err"));
  REQUIRE(first.wait_converged());
  REQUIRE(first.http.size() == 6);
  CHECK(first.converged_s < 30);
  const std::string malmo = first.http.at("Malmö"), toronto = first.http.at("Toronto");

  // Every node lists the six cities and the coalition with its lead.
  json net = get_json(toronto, "/api/v1/network");
  CHECK(net["cities"].size() == 6);
  // The plan of a coalition city is followed from across the Atlantic, reports and all.
  json progress = get_json(toronto, "/api/v1/plans/Malm%C3%B6/eccar-2024/progress?today=2026-12-01");
  CHECK(progress["items"].size() == 4);
  CHECK(progress["summary"]["reported"] == 3);
  CHECK(progress["items"][2]["indicators"][0]["history"].size() == 3);
  // Practices travelled: five adoptions, written after the first sync.
  json adoptions = get_json(malmo, "/api/v1/adoptions");
  CHECK(adoptions["items"].size() == 5);
  // The coalition lead's framework, used by members' records.
  json frameworks = get_json(toronto, "/api/v1/frameworks");
  REQUIRE(frameworks["items"].size() == 4);
  CHECK(frameworks["items"][3]["city"] == "The Hague");
  json employer = get_json(toronto, "/api/v1/commitments/integrating-cities-charter/employer");
  REQUIRE(employer["cities"].size() == 1);
  CHECK(employer["cities"][0]["city"] == "Copenhagen");
  // Searches in the cities' languages: Danish, French, Swedish, Dutch stems.
  CHECK(get_json(toronto, "/api/v1/practices?q=danskundervisningen")["items"].size() >= 1);
  CHECK(get_json(toronto, "/api/v1/practices?q=entreprise")["items"][0]["city"] == "Lyon");
  CHECK(get_json(toronto, "/api/v1/practices?q=l%C3%A4nkarbetaren")["items"][0]["city"] == "Malmö");
  CHECK(get_json(toronto, "/api/v1/practices?q=bewoners")["items"][0]["city"] == "The Hague");
  // Visibility holds: the coalition-only and twin-only practices are not public anywhere.
  CHECK(get_json(malmo, "/api/v1/practices?city=Copenhagen")["items"].size() == 4);
  CHECK(get_json(malmo, "/api/v1/practices?city=The%20Hague")["items"].size() == 3);
  auto twin_copy = run_agora({"show", "--data", root + "/johannesburg", "--json", "The Hague/wijkgesprekken-twin"});
  INFO(twin_copy.err);
  CHECK(json::parse(twin_copy.out)["title"] == "Wijkgesprekken met Johannesburg");
  auto withheld = run_agora({"show", "--data", root + "/toronto", "--json", "The Hague/wijkgesprekken-twin"});
  CHECK(json::parse(withheld.out)["withheld"] == true);
  auto member = run_agora({"show", "--data", root + "/lyon", "--json", "Copenhagen/diskriminationsovervaagning"});
  CHECK(json::parse(member.out)["title"] == "Overvågning af diskrimination i kommunens egne tilbud");

  CHECK(first.interrupt() == 0);
  CHECK(read_file(first.out_file).find("stopped.") != std::string::npos);
  for (const auto& [city, url] : first.http) CHECK_THROWS(http_get(url, "/health"));  // nothing left listening

  // A second run reuses the keys and data, re-imports nothing new and converges again.
  DemoRun second(root, tmp.str("second.out"));
  INFO(read_file(second.out_file) << read_file(second.out_file + ".err"));
  REQUIRE(second.wait_converged());
  CHECK(second.node == first.node);
  CHECK(get_json(second.http.at("Lyon"), "/api/v1/adoptions")["items"].size() == 5);
  CHECK(second.interrupt() == 0);
}
