"""Guess the number: the secret (1..100) is the test input. The contestant asks "? x" and reads
"<" (the secret is smaller), ">" (larger) or "="; it answers "! x". Found within 7 questions:
accepted; within 30: half the points; otherwise, or a wrong or malformed line: wrong answer."""
import sys

secret = int(open(sys.argv[1]).read())
result = open(sys.argv[4], "w") if len(sys.argv) > 4 else sys.stderr


def finish(status, message):
    result.write(message + "\n")
    result.close()
    sys.exit(status)


questions = 0
while True:
    line = sys.stdin.readline()
    if not line:
        finish(1, "end of input before an answer")
    parts = line.split()
    if len(parts) != 2 or parts[0] not in ("?", "!") or not parts[1].lstrip("-").isdigit():
        finish(2, f"malformed line {line[:40]!r}")
    value = int(parts[1])
    if parts[0] == "!":
        if value != secret:
            finish(1, f"{value} is not the secret")
        finish(0, "found") if questions <= 7 else finish(7, f"points 0.5 found after {questions} questions")
    questions += 1
    if questions > 30:
        finish(1, "more than 30 questions")
    print("<" if secret < value else ">" if secret > value else "=", flush=True)
