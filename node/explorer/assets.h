// The explorer page's static files, embedded into the binary at build time (embed.cmake writes the table from
// the files of node/explorer/), so a node serves its page without any file on disk or on the internet.
// Pure data: no I/O, no allocation; safe from any thread.
#pragma once

#include <span>
#include <string_view>

namespace onebill::node::explorer {

struct Asset {
  std::string_view name;          // the file name, e.g. "app.js" (served as /explorer/app.js)
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
  std::string_view etag;          // a strong ETag, quoted: the first 32 hex digits of the file's SHA-256
};

// Every embedded file, sorted by name.
std::span<const Asset> assets();

// The file of that exact name (no decoding, no path walking: only names in the table match), or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace onebill::node::explorer
