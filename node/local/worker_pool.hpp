// Runs independent per-item work (signing, verifying, validating) on all cores, on one
// process-wide pool of worker threads started at first use (`agora-worker` in `top -H`).
#pragma once

#include <cstddef>
#include <functional>

namespace agora {

// Calls fn(i) for i in [0, n) on the calling thread and up to `threads` - 1 pool workers
// (0: one thread per core); rethrows the first exception once no worker is in fn any more.
// Several threads may call it at once; their items share the workers.
void parallel_for(size_t n, const std::function<void(size_t)>& fn, unsigned threads = 0);
unsigned default_threads();

}  // namespace agora
