#!/bin/sh
# Stands in for the selftests when configure did not find Check or json-c.
echo "Bail out! the selftests need Check and json-c (apt-get install check libjson-c-dev), then re-run configure"
exit 1
