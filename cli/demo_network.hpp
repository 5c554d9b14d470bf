// The six-city demo network: data dirs, demo records, peering, and one `agora serve`
// process per city on loopback, until Ctrl-C.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "protocol/record.hpp"

namespace agora::cli {

struct DemoCity {
  std::string slug, name, country, region;
  std::vector<std::string> languages;
};
// The Hague, Copenhagen, Lyon, Malmö, Toronto, Johannesburg.
const std::vector<DemoCity>& demo_cities();
// Sync links (indexes into demo_cities()): the coalition's cities among themselves, and the twins.
const std::vector<std::pair<size_t, size_t>>& demo_links();

struct DemoOptions {
  std::filesystem::path root;    // holds one data dir per city
  int sync_base = 7401;          // the cities' sync ports: sync_base, sync_base+1, ...
  int http_base = 8081;          // their HTTP ports (the browsing pages)
  bool any_ports = false;        // any free ports instead
  bool fresh = false;            // start over: remove the demo's data dirs first
  double converge_limit_s = 60;  // give up (exit 1) when not converged by then
};

class DemoNetwork {
 public:
  DemoNetwork(DemoOptions options, std::ostream& out);
  ~DemoNetwork();  // stops every node still running

  // Sets up the data dirs, starts the nodes, waits for them to converge (twice: before and
  // after the records that refer to other cities' records), then until SIGINT/SIGTERM.
  // Returns the exit code.
  int run();

 private:
  struct Node {
    DemoCity city;
    std::filesystem::path dir;
    PublicKey id{};
    int sync_port = 0, http_port = 0;
    pid_t pid = -1;
  };
  void prepare();
  void choose_ports();
  void start(Node& node);
  // Waits until `done` holds, polling; false on a stop signal or deadline. Throws if a node exited.
  bool wait_for(const std::function<bool()>& done, double limit_s);
  bool converged();
  void import_later();
  void stop();
  void check_children();

  DemoOptions options_;
  std::ostream& out_;
  std::vector<Node> nodes_;
  bool stop_requested_ = false;
};

}  // namespace agora::cli
