"""Python grader of "maxof": imports the contestant's maxof.py and calls max_of."""
import maxof

n = int(input())
values = list(map(int, input().split()))
assert len(values) == n
print(maxof.max_of(values))
