# Compile settings of the fuzz build (-DONEBILL_FUZZ=ON), included by the top-level CMakeLists.txt before any
# library is defined, so that every library the fuzz targets link is instrumented the same way.
#
# libFuzzer comes with clang (Debian: clang-14 and libclang-rt-14-dev), so the option needs clang. Everything is
# compiled with coverage instrumentation for libFuzzer (-fsanitize=fuzzer-no-link) and AddressSanitizer +
# UndefinedBehaviorSanitizer; only the fuzz executables link libFuzzer's main (-fsanitize=fuzzer, in
# tests/fuzz/CMakeLists.txt). -O1 with line tables keeps the build quick and stack traces readable; assertions
# stay on (no NDEBUG), so nlohmann/json's and our own asserts fire on bad input instead of passing silently.
# The tests may be built in the same folder (tests/run --sanitize does): their executables link the sanitizers'
# runtimes, which define the coverage callbacks as no-ops where libFuzzer is not linked.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "ONEBILL_FUZZ=ON needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: configure with "
                      "CXX=clang++-14, or use tests/fuzz/run, which does")
endif()
set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -gline-tables-only")
# -fno-sanitize=function: clang 14 cannot compile C++20 coroutines (node/'s Asio handlers) with UBSan's function
# check ("Cannot represent a difference across sections", LLVM issue 49689); the other UBSan checks stay on.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer
                    -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)
