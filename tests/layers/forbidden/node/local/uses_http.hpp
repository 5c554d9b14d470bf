// A fixture for the layer rule's test: node/local may not include node/http.
#pragma once
#include "node/http/api.hpp"
#include "protocol/record.hpp"
