#include "qraft/core/progress.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace qraft {
namespace {

TEST(ProgressTest, SilentWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  TerminalProgress p(f);
  EXPECT_FALSE(p.enabled());
  p.Start("ingest", 3);
  p.Advance(3);
  p.Finish();
  EXPECT_EQ(std::ftell(f), 0);  // nothing written
  std::fclose(f);
}

TEST(ProgressTest, DrawsOnATerminalUnlessCi) {
  int master = -1, slave = -1;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  std::FILE* tty = fdopen(slave, "w");
  ASSERT_NE(tty, nullptr);
  const char* ci = std::getenv("CI");
  const std::string saved = ci ? ci : "";
  ::setenv("CI", "1", 1);
  EXPECT_FALSE(TerminalProgress(tty).enabled());  // CI logs stay clean
  ::unsetenv("CI");
  {
    TerminalProgress p(tty);
    EXPECT_TRUE(p.enabled());
    p.Start("ingest", 4);
    p.Advance(4);
    p.Finish();
  }
  if (ci) ::setenv("CI", saved.c_str(), 1);
  std::fflush(tty);
  // The terminal may hand the output over in pieces: read until the final line has arrived.
  std::string out;
  for (int tries = 0; tries < 100 && out.find("4/4") == std::string::npos; ++tries) {
    pollfd pfd{master, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_NE(out.find("ingest"), std::string::npos) << out;
  EXPECT_NE(out.find("4/4"), std::string::npos) << out;
  EXPECT_NE(out.find("##############################"), std::string::npos) << out;
  std::fclose(tty);
  ::close(master);
}

}  // namespace
}  // namespace qraft
