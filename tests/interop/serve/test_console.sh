#!/usr/bin/env bash
# Registers the web console's browser test (tests/interop/console/, which is
# not a room, so tests/CMakeLists.txt does not pick it up there).
exec bash "$SR_SOURCE_DIR/tests/interop/console/test_console.sh"
