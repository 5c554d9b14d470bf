// A TCP proxy on 127.0.0.1 in front of one node's sync port: the link between two test
// nodes, which a scenario can cut (partition), slow down (delay) or point elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace agora::test {

class FaultProxy {
 public:
  explicit FaultProxy(uint16_t target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const;
  // Partitioned: open connections are cut and new ones closed at once, as when the network
  // between two cities fails; healed: connections pass again.
  void set_partitioned(bool partitioned);
  // Every chunk waits this long before it is forwarded (order is kept).
  void set_delay(std::chrono::milliseconds delay);
  // Emulated packet loss for a TCP stream: each chunk is lost with this probability and
  // arrives only after a retransmission timeout (TCP never loses bytes, it stalls).
  void set_loss(double probability, std::chrono::milliseconds retransmit_after);
  // The node behind it restarted on another port.
  void retarget(uint16_t target_port);
  uint64_t bytes_forwarded() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora::test
