"""One problem written in every language the code rewards run, as a policy might answer it.

The problem: read two integers from standard input, print their sum. ``CASES`` are its tests.
Per language: ``correct``; ``wrong`` (always prints 0); ``compile_error``; ``timeout`` (loops
forever); ``partial`` (right only when the first number is below 5: half of ``CASES``); ``hack``
(prints nothing and exits with status 0 at once, the early exit that beats an exit-status verdict).
"""

CASES = [("1 2\n", "3\n"), ("3 4\n", "7\n"), ("6 7\n", "13\n"), ("8 9\n", "17\n")]
PARTIAL_SHARE = 0.5

PROGRAMS = {
    "python": {
        "correct": "a, b = map(int, input().split())\nprint(a + b)",
        "wrong": "print(0)",
        "compile_error": "print((1 + 2)",
        "timeout": "while True:\n    pass",
        "partial": "a, b = map(int, input().split())\nprint(a + b if a < 5 else -1)",
        "hack": "import os\nos._exit(0)",
    },
    "cpp": {
        "correct": "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }",
        "wrong": "#include <cstdio>\nint main() { std::puts(\"0\"); }",
        "compile_error": "#include <iostream>\nint main() { std::cout << undeclared; }",
        "timeout": "int main() { volatile unsigned long i = 0; while (true) { ++i; } }",
        "partial": "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << (a < 5 ? a + b : -1) << '\\n'; }",
        "hack": "#include <cstdlib>\nint main() { std::exit(0); }",
    },
    "c": {
        "correct": "#include <stdio.h>\nint main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); printf(\"%ld\\n\", a + b); return 0; }",
        "wrong": "#include <stdio.h>\nint main(void) { puts(\"0\"); return 0; }",
        "compile_error": "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", missing_variable); return 0; }",
        "timeout": "int main(void) { volatile unsigned long i = 0; for (;;) { ++i; } }",
        "partial": "#include <stdio.h>\nint main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); printf(\"%ld\\n\", a < 5 ? a + b : -1L); return 0; }",
        "hack": "#include <unistd.h>\nint main(void) { _exit(0); }",
    },
    "java": {
        "correct": "import java.util.*;\npublic class Main {\n  public static void main(String[] args) {\n"
                   "    Scanner in = new Scanner(System.in);\n    long a = in.nextLong(), b = in.nextLong();\n"
                   "    System.out.println(a + b);\n  }\n}",
        "wrong": "public class Main {\n  public static void main(String[] args) { System.out.println(0); }\n}",
        "compile_error": "public class Main {\n  public static void main(String[] args) { int x = \"text\"; }\n}",
        "timeout": "public class Main {\n  public static void main(String[] args) { long i = 0; while (true) { i++; } }\n}",
        "partial": "import java.util.*;\npublic class Main {\n  public static void main(String[] args) {\n"
                   "    Scanner in = new Scanner(System.in);\n    long a = in.nextLong(), b = in.nextLong();\n"
                   "    System.out.println(a < 5 ? a + b : -1);\n  }\n}",
        "hack": "public class Main {\n  public static void main(String[] args) { System.exit(0); }\n}",
    },
    "javascript": {
        "correct": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\nconsole.log(a + b);",
        "wrong": "console.log(0);",
        "compile_error": "console.log((1 + 2);",
        "timeout": "for (;;) {}",
        "partial": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\n"
                   "console.log(a < 5 ? a + b : -1);",
        "hack": "process.exit(0);",
    },
    "rust": {
        "correct": "use std::io::Read;\nfn main() {\n    let mut s = String::new();\n"
                   "    std::io::stdin().read_to_string(&mut s).unwrap();\n"
                   "    let v: Vec<i64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();\n"
                   "    println!(\"{}\", v[0] + v[1]);\n}",
        "wrong": "fn main() { println!(\"0\"); }",
        "compile_error": "fn main() { let x: i32 = \"text\"; }",
        "timeout": "fn main() { let mut i: u64 = 0; loop { i = std::hint::black_box(i + 1); } }",
        "partial": "use std::io::Read;\nfn main() {\n    let mut s = String::new();\n"
                   "    std::io::stdin().read_to_string(&mut s).unwrap();\n"
                   "    let v: Vec<i64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();\n"
                   "    println!(\"{}\", if v[0] < 5 { v[0] + v[1] } else { -1 });\n}",
        "hack": "fn main() { std::process::exit(0); }",
    },
}

# score and outcome each program must get
EXPECTED = {"correct": (1.0, "passed"), "wrong": (0.0, "wrong_answer"), "compile_error": (0.0, "compile_error"),
            "timeout": (0.0, "timeout"), "partial": (PARTIAL_SHARE, "wrong_answer"), "hack": (0.0, "wrong_answer")}
FENCE_TAGS = {"python": "python", "cpp": "cpp", "c": "c", "java": "java", "javascript": "javascript", "rust": "rust"}


def completion(language: str, kind: str, tag: str | None = None) -> str:
    return f"Here is my solution.\n```{tag if tag is not None else FENCE_TAGS[language]}\n{PROGRAMS[language][kind]}\n```"


def verification_info(language: str) -> dict:
    return {"language": language, "test_cases": [{"input": i, "output": o} for i, o in CASES]}
