// Proper divisor: the input is a composite n; any d with 1 < d < n dividing n is accepted, the
// trivial divisors 1 and n earn half the points, anything else is a wrong answer.
#include "testlib.h"

int main(int argc, char* argv[]) {
    registerTestlibCmd(argc, argv);
    long long n = inf.readLong();
    long long jury = ans.readLong();
    if (jury <= 1 || jury >= n || n % jury != 0)
        quitf(_fail, "the jury's answer %lld is not a proper divisor of %lld", jury, n);
    long long d = ouf.readLong();
    if (!ouf.seekEof()) quitf(_pe, "extra output after the divisor");
    if (d == 1 || d == n) quitp(0.5, "a trivial divisor");
    if (d <= 1 || d >= n || n % d != 0) quitf(_wa, "%lld is not a proper divisor of %lld", d, n);
    quitf(_ok, "%lld divides %lld", d, n);
}
