#!/bin/sh
# A ptxas whose -v output says every kernel spills: runs the real ptxas
# ($EMBER_REAL_PTXAS) and rewrites the spill counts (ptxas-spills.test).
out=$("$EMBER_REAL_PTXAS" "$@" 2>&1)
status=$?
printf '%s\n' "$out" |
  sed -e 's/ 0 bytes spill stores, 0 bytes spill loads/ 16 bytes spill stores, 8 bytes spill loads/'
exit $status
