// Guess the number, as a C++ testlib-style interactor (the same rules as guess_interactor.py).
#include "testlib.h"

int main(int argc, char* argv[]) {
    registerInteraction(argc, argv);
    long long secret = inf.readLong();
    int questions = 0;
    while (true) {
        std::string kind = ouf.readToken();
        long long value = ouf.readLong();
        if (kind == "!") {
            if (value != secret) quitf(_wa, "%lld is not the secret", value);
            if (questions <= 7) quitf(_ok, "found");
            quitp(0.5, "found late");
        }
        if (kind != "?") quitf(_pe, "expected ? or !");
        if (++questions > 30) quitf(_wa, "more than 30 questions");
        std::printf("%s\n", secret < value ? "<" : secret > value ? ">" : "=");
        std::fflush(stdout);
    }
}
