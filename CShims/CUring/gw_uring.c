#include "gw_uring.h"
