// The browsing page driven in headless Chromium over the DevTools protocol (Beast
// WebSocket, no npm): search, filter by a facet, open a practice; saves a screenshot.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;
namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;

namespace {

// Headless Chromium with its DevTools endpoint on a free loopback port.
class Browser {
 public:
  explicit Browser(const TempDir& tmp) {
    std::string log = tmp.str("chromium.log");
    pid_ = fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      dup2(fd, 1);
      std::string profile = "--user-data-dir=" + tmp.str("profile");
      execlp("chromium", "chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "--window-size=1200,900", profile.c_str(), "about:blank", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::regex listening(R"(DevTools listening on ws://127\.0\.0\.1:(\d+)/)");
    bool up = wait_until(
        [&] {
          std::ifstream in(log);
          std::string text((std::istreambuf_iterator<char>(in)), {});
          std::smatch m;
          if (!std::regex_search(text, m, listening)) return false;
          port_ = m[1];
          return true;
        },
        std::chrono::seconds(30));
    if (!up) throw std::runtime_error("chromium did not start");
  }
  ~Browser() {
    if (ws_) {
      beast::error_code ec;
      ws_->next_layer().close(ec);
    }
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  // Opens a tab on url and attaches to it.
  void open(const std::string& url) {
    std::string target = http("PUT", "/json/new?" + url);
    std::string ws_url = json::parse(target)["webSocketDebuggerUrl"];
    std::string path = ws_url.substr(ws_url.find('/', 5));
    ws_.emplace(io_);
    auto endpoints = tcp::resolver(io_).resolve("127.0.0.1", port_);
    boost::asio::connect(ws_->next_layer(), endpoints);
    ws_->read_message_max(64 << 20);
    ws_->handshake("127.0.0.1:" + port_, path);
  }

  json call(const std::string& method, const json& params = json::object()) {
    int id = ++next_id_;
    ws_->write(boost::asio::buffer(json{{"id", id}, {"method", method}, {"params", params}}.dump()));
    for (;;) {
      beast::flat_buffer buf;
      ws_->read(buf);
      json m = json::parse(beast::buffers_to_string(buf.data()));
      if (m.value("id", 0) != id) continue;  // events
      if (m.contains("error")) throw std::runtime_error(method + ": " + m["error"].dump());
      return m["result"];
    }
  }
  json eval(const std::string& js) {
    json r = call("Runtime.evaluate", {{"expression", js}, {"returnByValue", true}, {"awaitPromise", true}});
    if (r.contains("exceptionDetails")) throw std::runtime_error("page script failed: " + r["exceptionDetails"].dump());
    return r["result"].value("value", json());
  }
  bool wait_for(const std::string& condition) {
    return wait_until([&] { return eval("!!(" + condition + ")") == true; }, std::chrono::seconds(20));
  }

 private:
  std::string http(const std::string& method, const std::string& target) {
    beast::tcp_stream s(io_);
    s.connect(tcp::resolver(io_).resolve("127.0.0.1", port_));
    beast::http::request<beast::http::empty_body> req(beast::http::string_to_verb(method), target, 11);
    req.set(beast::http::field::host, "127.0.0.1");
    beast::http::write(s, req);
    beast::flat_buffer buf;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(s, buf, res);  // by Content-Length: DevTools keeps the connection open
    return res.body();
  }

  boost::asio::io_context io_;
  pid_t pid_ = -1;
  std::string port_;
  std::optional<beast::websocket::stream<tcp::socket>> ws_;
  int next_id_ = 0;
};

std::string base64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    auto pos = chars.find(c);
    if (pos == std::string::npos) continue;  // padding
    acc = acc << 6 | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits & 0xff));
    }
  }
  return out;
}

void publish(const ServedNode& node, const json& input, const std::string& key_file = "") {
  std::vector<std::string> args = {"publish", "-"};
  if (!key_file.empty()) args = {"--key", key_file, "publish", "-"};
  auto r = node.agora(args, input.dump());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("a researcher searches, filters, opens a practice and reads the coverage matrix in the browsing page",
          "[web]") {
  ServedNode cph("København", "DK");
  publish(cph, {{"kind", "practice"},
                {"id", "jobspor"},
                {"title", "Jobspor for nyankomne"},
                {"summary", "Et program der styrker beskæftigelse blandt flygtninge."},
                {"language", "da"},
                {"themes", {"employment", "language"}}});
  // The second version comes from a coordinator's own key (docs/identity.md).
  std::string mette = cph.tmp.str("mette.key");
  REQUIRE(cph.agora({"key", "add", "Mette", "--role", "publisher", "--out", mette}).exit_code == 0);
  publish(cph,
          {{"kind", "practice"},
           {"id", "jobspor"},
           {"title", "Jobspor for nyankomne og familier"},
           {"summary", "Et program der styrker beskæftigelse blandt flygtninge og deres familier."},
           {"language", "da"},
           {"themes", {"employment", "language"}},
           {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}},
          mette);
  publish(cph, {{"kind", "practice"},
                {"id", "sprogcafe"},
                {"title", "Sprogcafé"},
                {"summary", "Frivillige taler dansk med nye borgere; beskæftigelse følger."},
                {"language", "da"},
                {"themes", {"language"}}});
  cph.serve();
  TempDir tmp;
  Browser browser(tmp);
  browser.open(cph.http_url);
  REQUIRE(browser.wait_for("document.querySelectorAll('#results li').length == 2"));

  // Search in Danish with an inflected form.
  browser.eval(
      "document.getElementById('q').value = 'beskæftigelsen'; "
      "document.getElementById('search-form').requestSubmit(); true");
  REQUIRE(browser.wait_for("document.querySelectorAll('#results li mark').length == 2"));
  CHECK(browser.eval("document.getElementById('summary').textContent").get<std::string>().starts_with("2 practices"));

  // Filter by the employment facet: one result left.
  REQUIRE(browser.wait_for("document.querySelector('#facets input[data-value=\"employment\"]')"));
  browser.eval("document.querySelector('#facets input[data-value=\"employment\"]').click(); true");
  REQUIRE(browser.wait_for("document.querySelectorAll('#results li').length == 1"));

  // Open it: the practice page with its two versions.
  browser.eval("document.querySelector('#results li a').click(); true");
  REQUIRE(browser.wait_for("document.getElementById('record-title')"));
  CHECK(browser.eval("document.getElementById('record-title').textContent") == "Jobspor for nyankomne og familier");
  REQUIRE(browser.wait_for("document.querySelectorAll('.versions tr').length == 3"));  // header + 2 versions
  // Who signed each version: the city's node key, then Mette's.
  CHECK_THAT(browser.eval("document.querySelectorAll('.versions td.signer')[0].textContent").get<std::string>(),
             Catch::EndsWith("(node)"));
  CHECK(browser.eval("document.querySelectorAll('.versions td.signer')[1].textContent") == "Mette (publisher)");
  CHECK(browser.eval("document.querySelector('.record .meta').textContent")
            .get<std::string>()
            .ends_with("signed by Mette (publisher)"));

  // The coverage matrix: København acts on ECCAR commitment 6 with one practice; the
  // cell leads to that practice.
  browser.eval("location.hash = '#/coverage'; true");
  REQUIRE(browser.wait_for("document.querySelector('#coverage-matrix tbody tr')"));
  CHECK(browser.eval("document.querySelector('#coverage-matrix tbody th').textContent") == "København");
  CHECK(browser.eval("document.querySelectorAll('#coverage-matrix thead th').length") == 12);  // city, 1-10, covered
  CHECK(browser.eval("document.querySelectorAll('#coverage-matrix tbody td a').length") == 1);
  CHECK(browser.eval("document.querySelectorAll('#coverage-matrix tbody td')[5].textContent") == "1");
  browser.eval("document.querySelector('#coverage-matrix tbody td a').click(); true");
  REQUIRE(
      browser.wait_for("!document.getElementById('search-view').hidden && "
                       "document.querySelectorAll('#results li').length == 1"));
  CHECK(browser.eval("document.querySelector('#results li a').textContent") == "Jobspor for nyankomne og familier");
  browser.eval("location.hash = '#/coverage'; true");
  REQUIRE(browser.wait_for("document.querySelector('#coverage-matrix tbody tr')"));

  json shot = browser.call("Page.captureScreenshot", {{"format", "png"}});
  std::string png = base64_decode(shot["data"]);
  REQUIRE(png.substr(1, 3) == "PNG");
  std::string path = std::string(AGORA_BUILD_DIR) + "/browsing-page.png";
  std::ofstream(path, std::ios::binary) << png;
  CHECK(std::filesystem::file_size(path) > 1000);
}

TEST_CASE(
    "a researcher follows a plan's progress with its charts and one commitment across cities in the browsing page",
    "[web][monitoring]") {
  ServedNode malmo("Malmö", "SE");
  publish(malmo, {{"kind", "plan"},
                  {"id", "eccar-2024"},
                  {"title", "Handlingsplan mot diskriminering"},
                  {"language", "sv"},
                  {"framework", "eccar-10pt"},
                  {"period", {{"from", "2024-01-01"}, {"to", "2027-12-31"}}},
                  {"items",
                   {{{"id", "linkworkers"},
                     {"commitment", "6"},
                     {"action", "Fler länkarbetare."},
                     {"due", "2025-06-30"},
                     {"status", "in-progress"},
                     {"indicators",
                      {{{"name", "länkarbetare"},
                        {"unit", "personer"},
                        {"baseline", 4},
                        {"target", 12},
                        {"direction", "increase"}}}}},
                    {{"id", "audit"}, {"commitment", "2"}, {"action", "Mångfaldsrevision."}, {"status", "planned"}}}}});
  for (auto [value, date] : {std::pair{"6", "2024-09-30"}, std::pair{"8", "2025-06-30"}}) {
    auto r = malmo.agora(
        {"report", "eccar-2024", "linkworkers", "--indicator", "länkarbetare", "--value", value, "--date", date});
    REQUIRE(r.exit_code == 0);
  }
  publish(malmo, {{"kind", "practice"},
                  {"id", "lankarbetare"},
                  {"title", "Länkarbetare"},
                  {"summary", "Kontakter."},
                  {"language", "sv"},
                  {"themes", {"social-services"}},
                  {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  malmo.serve();
  TempDir tmp;
  Browser browser(tmp);
  browser.open(malmo.http_url + "#/plans");
  REQUIRE(browser.wait_for("document.querySelectorAll('#plans-table tbody a').length == 1"));
  browser.eval("document.querySelector('#plans-table tbody a').click(); true");
  REQUIRE(browser.wait_for("document.getElementById('plan-title')"));
  CHECK(browser.eval("document.getElementById('plan-title').textContent") == "Handlingsplan mot diskriminering");
  CHECK(browser.eval("document.getElementById('plan-summary').textContent")
            .get<std::string>()
            .starts_with("1/1 indicators reported · 0 targets met · 1 items overdue"));
  CHECK(browser.eval("document.querySelectorAll('#plan-items tr.overdue').length") == 1);
  // The chart is the node's SVG, loaded as an image (the CSP allows nothing from elsewhere).
  REQUIRE(
      browser.wait_for("document.querySelector('img.chart') && document.querySelector('img.chart').complete && "
                       "document.querySelector('img.chart').naturalWidth > 0"));
  CHECK(browser.eval("document.querySelector('img.chart').getAttribute('src')")
            .get<std::string>()
            .find("/chart.svg?item=linkworkers&indicator=l%C3%A4nkarbetare") != std::string::npos);
  CHECK(browser.eval("document.querySelector('.indicator').textContent").get<std::string>().find("50% of the way") !=
        std::string::npos);

  // From the plan item to commitment 6 across cities: the practice and the plan item.
  browser.eval("document.querySelector('#plan-items a[href*=\"/commitment/\"]').click(); true");
  REQUIRE(browser.wait_for("document.getElementById('commitment-title')"));
  CHECK(browser.eval("document.getElementById('commitment-title').textContent") ==
        "eccar-10pt 6: The City as an Equal Opportunities Employer and Service Provider");
  CHECK(browser.eval("document.querySelectorAll('.city-commitment li').length") == 2);
  // And from the coverage matrix's column header to the same view.
  browser.eval("location.hash = '#/coverage'; true");
  REQUIRE(browser.wait_for("document.querySelectorAll('#framework-select option').length == 3"));
  browser.eval("document.querySelectorAll('#coverage-matrix thead th a')[1].click(); true");
  REQUIRE(
      browser.wait_for("!document.getElementById('commitment-view').hidden && "
                       "document.getElementById('commitment-title') && "
                       "document.getElementById('commitment-title').textContent.startsWith('eccar-10pt 2:')"));

  // The same plan in French: the page's words, the statuses, and the chart's own words.
  browser.open(malmo.http_url + "?lang=fr");  // DevTools opens no #fragment: set below
  REQUIRE(browser.wait_for("document.getElementById('summary') && document.documentElement.lang == 'fr'"));
  browser.eval("location.hash = '#/plans'; true");
  REQUIRE(browser.wait_for("document.querySelectorAll('#plans-table tbody a').length == 1"));
  browser.eval("document.querySelector('#plans-table tbody a').click(); true");
  REQUIRE(browser.wait_for("document.getElementById('plan-summary')"));
  CHECK(browser.eval("document.getElementById('plan-summary').textContent") ==
        "1/1 indicateurs renseignés · 0 cibles atteintes · 1 actions en retard");
  CHECK(browser.eval("[...document.querySelectorAll('#plan-items th')].map((th) => th.textContent).join('|')") ==
        "Action|Engagement|Description|État|Échéance");
  CHECK_THAT(browser.eval("document.querySelector('.indicator').textContent").get<std::string>(),
             Catch::Contains("50 % du chemin") && Catch::Contains("sur une cible de"));
  std::string chart = browser.eval("document.querySelector('img.chart').getAttribute('src')").get<std::string>();
  CHECK_THAT(chart, Catch::EndsWith("&lang=fr"));
  auto svg = http_get(malmo.http_url, chart);
  CHECK(svg.status == 200);
  CHECK_THAT(svg.body, Catch::Contains(">date du rapport<") && Catch::Contains(">cible ") &&
                           Catch::Contains(">référence ") && !Catch::Contains("report date"));
  CHECK(http_get(malmo.http_url, chart.substr(0, chart.find("&lang=")) + "&lang=xx-1").status == 400);
}

TEST_CASE("practices in Arabic read right to left and a two-character Chinese search finds its practice",
          "[web][languages]") {
  ServedNode rabat("Rabat", "MA");
  publish(rabat, {{"kind", "practice"},
                  {"id", "tawzif"},
                  {"title", "دعم توظيف المهاجرين"},
                  {"summary", "برنامج المدينة لمكافحة العنصرية والتمييز في التوظيف."},
                  {"language", "ar"},
                  {"themes", {"housing"}}});
  publish(rabat, {{"kind", "practice"},
                  {"id", "jiuye"},
                  {"title", "移民就业支持计划"},
                  {"summary", "为新移民提供职业培训和反歧视咨询。"},
                  {"language", "zh-Hans"},
                  {"themes", {"employment"}}});
  rabat.serve();
  TempDir tmp;
  Browser browser(tmp);
  browser.open(rabat.http_url);
  REQUIRE(browser.wait_for("document.querySelectorAll('#results li').length == 2"));
  // The Arabic title and summary lay out right to left, the Chinese ones left to right.
  std::string arabic = "[...document.querySelectorAll('#results li a')].find(a => a.lang == 'ar')";
  CHECK(browser.eval("getComputedStyle(" + arabic + ").direction") == "rtl");
  CHECK(browser.eval("(" + arabic + ").matches(':dir(rtl)')") == true);
  std::string chinese = "[...document.querySelectorAll('#results li a')].find(a => a.lang == 'zh-Hans')";
  CHECK(browser.eval("(" + chinese + ").matches(':dir(ltr)')") == true);
  REQUIRE(wait_for_search_index(rabat.http_url));  // else the page lists without the words

  browser.eval(
      "document.getElementById('q').value = '就业'; "
      "document.getElementById('search-form').requestSubmit(); true");
  REQUIRE(
      browser.wait_for("document.querySelectorAll('#results li').length == 1 && "
                       "document.getElementById('summary').textContent.startsWith('1 practice')"));
  CHECK(browser.eval("document.querySelector('#results li a').textContent") == "移民就业支持计划");
  browser.eval("document.querySelector('#results li a').click(); true");
  REQUIRE(browser.wait_for("document.getElementById('record-title')"));
  CHECK(browser.eval("document.getElementById('record-title').lang") == "zh-Hans");

  browser.eval(
      "location.hash = '#/'; document.getElementById('q').value = 'العنصرية'; "
      "document.getElementById('search-form').requestSubmit(); true");
  REQUIRE(
      browser.wait_for("document.querySelectorAll('#results li').length == 1 && "
                       "document.querySelector('#results li a').lang == 'ar'"));
  json shot = browser.call("Page.captureScreenshot", {{"format", "png"}});
  std::string png = base64_decode(shot["data"]);
  REQUIRE(png.substr(1, 3) == "PNG");
  std::ofstream(std::string(AGORA_BUILD_DIR) + "/browsing-page-arabic.png", std::ios::binary) << png;
}

namespace {
void save_screenshot(Browser& browser, const std::string& name) {
  json shot = browser.call("Page.captureScreenshot", {{"format", "png"}});
  std::string png = base64_decode(shot["data"]);
  REQUIRE(png.substr(1, 3) == "PNG");
  std::ofstream(std::string(AGORA_BUILD_DIR) + "/" + name, std::ios::binary) << png;
}
}  // namespace

TEST_CASE("the page in French, Arabic and Chinese: interface, theme names, translations, and the view in the address",
          "[web][languages]") {
  ServedNode lyon("Lyon", "FR");
  publish(lyon, {{"kind", "practice"},
                 {"id", "linkworkers"},
                 {"title", "Link workers at the job centre"},
                 {"summary", "Link workers help newcomers find work."},
                 {"language", "en"},
                 {"themes", {"employment"}},
                 {"started", 2015},
                 {"partners", {"Job centre"}},
                 {"contact", "inclusion@example.org"},
                 {"links", {"https://example.org/linkworkers"}},
                 {"outcomes", {{{"indicator", "people in work"}, {"value", 120}, {"unit", "people"}, {"year", 2024}}}},
                 {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  publish(lyon, {{"kind", "practice"},
                 {"id", "housing"},
                 {"title", "Housing first for newcomers"},
                 {"summary", "Flats before everything else."},
                 {"language", "en"},
                 {"themes", {"housing"}}});
  std::string fr = lyon.tmp.str("fr.json");
  std::ofstream(fr) << json{{"title", "Agents de liaison à l'agence pour l'emploi"},
                            {"summary", "Des agents aident les nouveaux arrivants à trouver du travail."},
                            {"outcomes", {"personnes en emploi"}}}
                           .dump();
  REQUIRE(lyon.agora({"translate", "linkworkers", "--language", "fr", fr}).exit_code == 0);
  lyon.serve();
  REQUIRE(wait_for_search_index(lyon.http_url));
  TempDir tmp;
  Browser browser(tmp);

  // French: the interface, the theme facet's names, a search read as a theme, the address.
  browser.open(lyon.http_url + "?lang=fr");  // DevTools opens no #fragment: set below
  REQUIRE(browser.wait_for("document.getElementById('summary') && document.documentElement.lang == 'fr'"));
  // Every interface language has every string (a missing one would show in English).
  CHECK(browser.eval("Object.entries(STRINGS).flatMap(([l, words]) => Object.keys(STRINGS.en)"
                     ".filter((k) => !(k in words)).map((k) => l + ':' + k)).join(' ')") == "");
  CHECK(browser.eval("Object.keys(STRINGS).length") == 10);
  browser.eval("location.hash = '#/?q=emploi'; true");
  REQUIRE(browser.wait_for("document.getElementById('summary').textContent.startsWith('1 pratique')"));
  CHECK(browser.eval("document.documentElement.lang") == "fr");
  CHECK(browser.eval("document.querySelector('nav a').textContent") == "Pratiques");
  CHECK(browser.eval("document.querySelector('#search-form button[type=submit]').textContent") == "Rechercher");
  CHECK_THAT(browser.eval("document.getElementById('summary').textContent").get<std::string>(),
             Catch::Contains("« emploi » trouve aussi le thème emploi"));
  REQUIRE(browser.wait_for("document.querySelector('#facets label')"));
  CHECK_THAT(browser.eval("document.getElementById('facets').textContent").get<std::string>(),
             Catch::Contains("emploi"));
  // The practice in French, with every field; the original one click away.
  browser.eval("document.querySelector('#results li a').click(); true");
  REQUIRE(browser.wait_for("document.getElementById('record-title')"));
  CHECK(browser.eval("document.getElementById('record-title').textContent") ==
        "Agents de liaison à l'agence pour l'emploi");
  CHECK_THAT(browser.eval("document.querySelector('.translation-note').textContent").get<std::string>(),
             Catch::Contains("Lyon"));
  CHECK(browser.eval("document.querySelector('#outcomes tbody td').textContent") == "personnes en emploi");
  CHECK_THAT(browser.eval("document.querySelector('#outcomes tbody tr').textContent").get<std::string>(),
             Catch::Contains("120") && Catch::Contains("people") && Catch::Contains("2024"));
  CHECK_THAT(browser.eval("document.querySelector('.record').textContent").get<std::string>(),
             Catch::Contains("inclusion@example.org") && Catch::Contains("Job centre") && Catch::Contains("2015") &&
                 Catch::Contains("La ville, employeur et prestataire de services garant de l'égalité des chances"));
  save_screenshot(browser, "browsing-page-fr.png");
  browser.eval("document.querySelector('.translation-note a').click(); true");
  REQUIRE(
      browser.wait_for("document.getElementById('record-title') && "
                       "document.getElementById('record-title').textContent == 'Link workers at the job centre'"));

  // The view lives in the address: a filter and a sort survive a reload and the back button.
  browser.eval("location.hash = '#/'; true");
  REQUIRE(browser.wait_for("document.querySelectorAll('#results li').length == 2"));
  REQUIRE(browser.wait_for("document.querySelector('#facets input[data-value=\"housing\"]')"));
  browser.eval("document.querySelector('#facets input[data-value=\"housing\"]').click(); true");
  REQUIRE(browser.wait_for("document.querySelectorAll('#results li').length == 1"));
  browser.eval(
      "document.getElementById('sort').value = 'title'; document.getElementById('sort').dispatchEvent(new "
      "Event('change')); true");
  REQUIRE(browser.wait_for("location.hash.includes('sort=title') && location.hash.includes('theme=housing')"));
  browser.eval("window.beforeReload = true; location.reload(); true");  // not the old page: the reloaded one
  REQUIRE(browser.wait_for(
      "!window.beforeReload && document.readyState == 'complete' && document.getElementById('sort') && "
      "document.getElementById('sort').value == 'title' && "
      "document.querySelectorAll('#results li').length == 1"));
  CHECK(browser.eval("document.querySelector('#results li a').textContent") == "Housing first for newcomers");
  CHECK(browser.eval("document.documentElement.lang") == "fr");  // the language stays too
  browser.eval("history.back(); true");                          // the filter without the sort
  REQUIRE(browser.wait_for(
      "document.getElementById('sort') && document.getElementById('sort').value == '' && "
      "location.hash.includes('theme=housing') && document.querySelectorAll('#results li').length == 1"));
  browser.eval("history.back(); true");  // no filter
  REQUIRE(browser.wait_for("document.querySelectorAll('#results li').length == 2"));
  // The current results as a file, made in the page.
  json csv = browser.eval(
      "(async () => { let made; const create = URL.createObjectURL; URL.createObjectURL = (b) => { made = b; return "
      "create(b); }; await exportResults('csv'); URL.createObjectURL = create; return await made.text(); })()");
  CHECK_THAT(csv.get<std::string>(), Catch::StartsWith("origin,id,city,country,title") &&
                                         Catch::Contains("linkworkers") && Catch::Contains("housing"));

  // Arabic: right to left, interface and theme names in Arabic.
  browser.open(lyon.http_url + "?lang=ar");
  REQUIRE(
      browser.wait_for("document.getElementById('results') && document.querySelectorAll('#results li').length == 2"));
  CHECK(browser.eval("document.documentElement.dir") == "rtl");
  CHECK(browser.eval("getComputedStyle(document.body).direction") == "rtl");
  CHECK(browser.eval("document.querySelector('nav a').textContent") == "الممارسات");
  REQUIRE(browser.wait_for("document.getElementById('facets').textContent.includes('التوظيف')"));
  save_screenshot(browser, "browsing-page-ar.png");

  // Chinese.
  browser.open(lyon.http_url + "?lang=zh");
  REQUIRE(browser.wait_for("document.getElementById('summary') && document.documentElement.lang == 'zh'"));
  browser.eval("location.hash = '#/?q=%E5%B0%B1%E4%B8%9A'; true");  // 就业: the theme's Chinese name
  REQUIRE(browser.wait_for("document.getElementById('summary').textContent.startsWith('1 项实践')"));
  CHECK(browser.eval("document.querySelector('#search-form button[type=submit]').textContent") == "搜索");
  save_screenshot(browser, "browsing-page-zh.png");
}
