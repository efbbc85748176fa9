// IOI-style grader of "maxof": reads n and the values, calls the contestant's max_of, prints it.
#include <cstdio>
#include <vector>
#include "maxof.h"

int main() {
    int n;
    if (std::scanf("%d", &n) != 1) return 1;
    std::vector<long long> values(n);
    for (auto& v : values)
        if (std::scanf("%lld", &v) != 1) return 1;
    std::printf("%lld\n", max_of(values));
}
