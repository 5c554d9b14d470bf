// A fixture for the layer rule's test: protocol/ may include only protocol/.
#include "storage/record_store.hpp"
