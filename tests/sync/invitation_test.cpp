// Invitations through real nodes: one string makes two cities peers; a spent, expired,
// damaged or forged one is refused with its reason on both sides.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <thread>

#include "node/local/invitations.hpp"
#include "sync/served_node.hpp"

using namespace agora;
using namespace agora::test;
using nlohmann::json;

namespace {

json invited_peer(const ServedNode& n, const std::string& id) {
  json listed = json::parse(n.agora({"peer", "list", "--json"}).out);
  for (const auto& p : listed["peers"])
    if (p["node"] == id) return p;
  return nullptr;
}

std::string invitation_error_of(const ServedNode& n, const std::string& id) {
  json p = invited_peer(n, id);
  return p.is_object() ? p["last_error"].get<std::string>() : "";
}

}  // namespace

TEST_CASE("an invitation makes two cities peers in one exchange, once", "[sync][identity][invitation]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK"), oslo("Oslo", "NO");
  for (auto* n : {&lyon, &cph, &oslo}) n->serve();
  auto invited = lyon.agora({"invite", "--url", lyon.sync_url, "--relation", "twin"});
  INFO(invited.err);
  REQUIRE(invited.exit_code == 0);
  std::string invitation = invited.out.substr(0, invited.out.find('\n'));
  CHECK(invitation.starts_with("agora-invite:"));

  auto joined = cph.agora({"join", invitation});
  INFO(joined.out << joined.err);
  REQUIRE(joined.exit_code == 0);
  CHECK_THAT(joined.err, Catch::Contains(R"("relation":"twin")"));  // the partnership to confirm
  REQUIRE(wait_until([&] {
    json a = invited_peer(lyon, cph.id), b = invited_peer(cph, lyon.id);
    return a.is_object() && b.is_object() && a["state"] == "connected" && b["state"] == "connected";
  }));
  CHECK(invited_peer(lyon, cph.id)["relation"] == "twin");
  CHECK(invited_peer(cph, lyon.id)["relation"] == "twin");
  lyon.publish(json::parse(practice_json("after-joining")));
  REQUIRE(wait_until([&] { return cph.head_of(lyon.id) == lyon.head_of(lyon.id); }));

  // Spent: a third city using the same string is refused, and both sides say why.
  REQUIRE(oslo.agora({"join", invitation}).exit_code == 0);
  REQUIRE(wait_until([&] { return invitation_error_of(oslo, lyon.id).find("already used") != std::string::npos; }));
  CHECK(lyon.log().find("invitation already used") != std::string::npos);
  CHECK_FALSE(invited_peer(lyon, oslo.id).is_object());

  // Expired.
  auto brief = lyon.agora({"invite", "--url", lyon.sync_url, "--expires", "1s"});
  REQUIRE(brief.exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  std::string expired = brief.out.substr(0, brief.out.find('\n'));
  auto late = oslo.agora({"join", expired});  // the string says when it expires
  CHECK(late.exit_code == 3);
  CHECK_THAT(late.err, Catch::Contains("expired on"));
  // The inviting node decides, whatever the string says (one re-encoded without its expiry).
  Invitation unsaid = decode_invitation(expired).value();
  unsaid.expires_ms = 0;
  REQUIRE(oslo.agora({"join", encode_invitation(unsaid)}).exit_code == 0);
  REQUIRE(wait_until([&] { return invitation_error_of(oslo, lyon.id).find("expired on") != std::string::npos; }));
  CHECK_FALSE(invited_peer(lyon, oslo.id).is_object());

  // Damaged in transit, or forged with a secret Lyon never made.
  std::string damaged = invitation;
  damaged[damaged.size() / 2] = damaged[damaged.size() / 2] == 'A' ? 'B' : 'A';
  auto refused = oslo.agora({"join", damaged});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("invitation"));
  Invitation forged{lyon.sync_url, *parse_node_id(lyon.id), new_invitation_secret(), ""};
  REQUIRE(oslo.agora({"join", encode_invitation(forged)}).exit_code == 0);
  REQUIRE(
      wait_until([&] { return invitation_error_of(oslo, lyon.id).find("no such invitation") != std::string::npos; }));
  CHECK_FALSE(invited_peer(lyon, oslo.id).is_object());

  auto own = lyon.agora({"join", invitation});
  CHECK(own.exit_code == 3);
  CHECK_THAT(own.err, Catch::Contains("this node's own"));
}
