// Runs independent per-item work (signing, verifying, validating) on all cores.
#pragma once

#include <cstddef>
#include <functional>

namespace agora {

// Calls fn(i) for i in [0, n) on up to `threads` threads (0: one per core); rethrows the
// first exception after all threads have stopped.
void parallel_for(size_t n, const std::function<void(size_t)>& fn, unsigned threads = 0);
unsigned default_threads();

}  // namespace agora
