#include <vector>
long long max_of(const std::vector<long long>& values);
