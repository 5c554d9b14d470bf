// Server-Sent Events of the public changes feed (GET /api/v1/changes?feed=eventsource):
// the backlog after `since`, then each change as it is stored, with a comment line as a
// heartbeat so dead clients are noticed and proxies keep the connection open.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "node/local/data_dir.hpp"
#include "node/net/transport.hpp"

namespace agora {

class ChangeStreams {
 public:
  ChangeStreams(boost::asio::io_context& io, DataDir& dir, size_t max_streams,
                std::chrono::milliseconds heartbeat = std::chrono::seconds(15));
  ~ChangeStreams();

  // A new stream; nullptr when max_streams are open already.
  std::shared_ptr<net::BodySource> open(uint64_t since, std::optional<Kind> kind);
  void notify();     // the store has new records: waiting streams send them
  void close_all();  // the node stops: every stream ends cleanly
  size_t open_count();

  class Stream;

 private:
  boost::asio::io_context& io_;
  DataDir& dir_;
  size_t max_streams_;
  std::chrono::milliseconds heartbeat_;
  std::vector<std::weak_ptr<Stream>> streams_;
};

}  // namespace agora
