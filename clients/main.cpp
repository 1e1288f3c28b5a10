// onebill: the command-line client. Everything but the process boundary is in clients/cli (run() is testable).
#include <iostream>
#include <string>
#include <vector>

#include "clients/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return onebill::clients::cli::run(args, std::cin, std::cout, std::cerr, onebill::clients::cli::process_env());
}
