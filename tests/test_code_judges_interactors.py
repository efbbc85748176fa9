"""Interactors: C++ and Python sides, flooding, what the contestant can see, and the broken pipe
after the contestant's last read."""

import ast

import pytest

from grpo_ext.rewards.code import CodeExecution, sandbox
from grpo_ext.rewards.code.interactors import run_connected
from tests.judge_problems import INFOS, SOLUTIONS, completion, interactive_info

if not sandbox.namespaces_available():
    pytest.skip("user namespaces unavailable: sandbox tests need them", allow_module_level=True)


def test_a_cpp_interactor_and_a_cpp_contestant():
    reward = CodeExecution(wall_seconds=2)
    binary_search = ("#include <cstdio>\n#include <cstring>\nint main() { int lo = 1, hi = 100; char r[4];\n"
                     "  while (true) { int m = (lo + hi) / 2; std::printf(\"? %d\\n\", m); std::fflush(stdout);\n"
                     "    if (std::scanf(\"%3s\", r) != 1) return 1;\n"
                     "    if (!std::strcmp(r, \"=\")) { std::printf(\"! %d\\n\", m); return 0; }\n"
                     "    if (!std::strcmp(r, \"<\")) hi = m - 1; else lo = m + 1; } }")
    python = [completion(SOLUTIONS["interactive"][p]) for p in ("right", "partial", "wrong")]
    scores = reward(completions=[completion(binary_search, "cpp")] + python,
                    verification_info=[dict(interactive_info("cpp"), language="cpp")] + [interactive_info("cpp")] * 3)
    assert scores == [1.0, 1.0, 0.5, 0.0]

@pytest.mark.parametrize("kind", ["checker", "interactive"])
def test_flooding_scores_zero(kind):
    flood = {"checker": "import sys\nwhile True:\n    sys.stdout.write('1' * 65536)",
             "interactive": "while True:\n    print('? 1')"}[kind]  # never reads the interactor's replies
    reward = CodeExecution(wall_seconds=2)
    assert reward(completions=[completion(flood)], verification_info=[INFOS[kind]()]) == [0.0]

def test_an_interactive_contestant_sees_neither_the_interactor_nor_its_files():
    """Each side of an interactive run has its own PID namespace, /proc and files: the contestant
    lists /proc and looks for the interactor's input; the interactor waits for its line."""
    python = sandbox.default_python()
    look = ("import glob, os, sys\nprint('ready', flush=True)\n"
            "sys.stderr.write(repr((sorted(p for p in os.listdir('/proc') if p.isdigit()), "
            "glob.glob('/proc/[0-9]*/cwd/*'), glob.glob('/proc/[0-9]*/root/work/*'), sorted(os.listdir('/work')))))")
    jury = "import sys\nline = sys.stdin.readline()\nprint(sorted(__import__('os').listdir('/work')), file=sys.stderr)\n" \
           "sys.exit(0 if line == 'ready\\n' else 1)"
    contestant, interactor = run_connected(
        dict(files={"main.py": look}, argv=[python, "main.py"], limits=sandbox.Limits(wall_seconds=5)),
        dict(files={"jury.py": jury, "input.txt": "secret 37\n"}, argv=[python, "jury.py"],
             limits=sandbox.Limits(wall_seconds=8)), "namespaces")
    assert contestant.ok and interactor.ok, (contestant.stderr, interactor.stderr)
    assert ast.literal_eval(contestant.stderr) == (["1"], ["/proc/1/cwd/main.py"], ["/proc/1/root/work/main.py"], ["main.py"])
    assert "input.txt" in interactor.stderr and contestant.stdout == "" and interactor.stdout == ""


# an interactor that writes a last line after the contestant's last read, once the contestant has
# exited: the write meets a closed pipe (C++ default: killed by SIGPIPE; Python: BrokenPipeError)
LAST_WORD = {
    "python, SIGPIPE as C": "import signal, sys, time\nsignal.signal(signal.SIGPIPE, signal.SIG_DFL)\n",
    "python, BrokenPipeError": "import sys, time\n",
}
_LAST_WORD_BODY = ("x = int(open(sys.argv[1]).read())\nprint(x, flush=True)\nreply = sys.stdin.readline().split()\n"
                   "time.sleep(0.5)  # the contestant has exited by now\nprint('bye', flush=True)\n"
                   "sys.exit(0 if reply == [str(2 * x)] else 1)\n")
LAST_WORD_CPP = """#include <chrono>
#include <cstdio>
#include <thread>
int main(int argc, char* argv[]) {
    std::FILE* in = std::fopen(argv[1], "r");
    long long x, reply;
    if (!in || std::fscanf(in, "%lld", &x) != 1) return 3;
    std::printf("%lld\\n", x);
    std::fflush(stdout);
    bool right = std::scanf("%lld", &reply) == 1 && reply == 2 * x;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the contestant has exited by now
    std::puts("bye");
    std::fflush(stdout);
    return right ? 0 : 1;
}
"""


@pytest.mark.parametrize("interactor", [*LAST_WORD, "cpp"])
def test_an_interactor_writing_after_the_last_read_does_not_zero_a_right_program(interactor):
    """The relay keeps the interactor's stdout open after the contestant exits, so its last line
    neither kills it (SIGPIPE) nor fails it (EPIPE): the right program 1.0, the wrong one 0."""
    spec = ({"language": "cpp", "source": LAST_WORD_CPP} if interactor == "cpp" else
            {"language": "python", "source": LAST_WORD[interactor] + _LAST_WORD_BODY})
    info = {"language": "python", "test_cases": [{"input": "21\n", "output": ""}], "interactor": spec}
    reward = CodeExecution(wall_seconds=3)
    programs = ["print(2 * int(input()), flush=True)", "print(int(input()) + 1, flush=True)"]
    assert reward(completions=[completion(p) for p in programs], verification_info=[info] * 2) == [1.0, 0.0]
