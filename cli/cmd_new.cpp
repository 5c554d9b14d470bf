// agora new KIND [--language L] [--out FILE]: a filled-in input template, every field explained.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/cli_support.hpp"
#include "cli/templates.hpp"
#include "protocol/languages.hpp"

namespace agora::cli {

void register_new(CLI::App& app, Context&) {
  struct Options {
    std::string kind, language = "en", out;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand(
      "new",
      "a filled-in template of a record to publish, every field explained in // comments (dropped when "
      "published): edit it, then `agora publish FILE` (a plan: `agora plan publish FILE`)");
  verb->add_option("KIND", opts->kind, "practice, plan, report, coalition or partnership")
      ->required()
      ->check(CLI::IsMember({"practice", "plan", "report", "coalition", "partnership"}));
  verb->add_option("--language", opts->language, "the language the record will be written in (a language tag)");
  verb->add_option("--out", opts->out, "write it to FILE (never over an existing one) instead of standard output");
  verb->callback([opts] {
    auto tag = canonical_language_tag(opts->language);
    if (!tag) throw InvalidInput("--language: " + unknown_language(opts->language));
    std::string text(template_text(opts->kind));
    for (size_t at; (at = text.find("{LANGUAGE}")) != std::string::npos;) text.replace(at, 10, *tag);
    if (opts->out.empty()) {
      std::cout << text;
      return;
    }
    if (std::filesystem::exists(opts->out))
      throw InvalidInput("--out: " + opts->out + " exists; name a new file (nothing was written)");
    std::ofstream out(opts->out, std::ios::binary);
    out << text;
    if (!out.flush()) throw std::runtime_error("--out: cannot write " + opts->out);
    std::cout << "wrote " << opts->out << ": edit it, then `agora "
              << (opts->kind == "plan" ? "plan publish " : "publish ") << opts->out << "`\n";
  });
}

}  // namespace agora::cli
