"""The GPU benchmark in one command, within a time budget: install what is missing from carried
wheels, build random-weights models of real shapes, run the math recipe (plain, ZeRO-2, ZeRO-3;
one process each) and time grpo_ext.GRPOTrainer against trl.GRPOTrainer.

    bash bench/gpu/run.sh [--out DIR] [--budget 480]      # on a machine with a CUDA GPU
    bash bench/gpu/run.sh --cpu --out DIR                  # the same stages on CPU, tiny shapes (a test runs it)

Stages run in order; each has its own time limit, cut to what is left of ``--budget`` (seconds),
and a stage that no longer fits in what is left is skipped and said so. Whatever ran is written
to ``--out`` (``$OUT`` when set) as ``gpu_run.md``, ``gpu_run.json`` and ``gpu_run.log`` (the
stages' output); models and run folders live in ``--work`` (a temporary folder by default).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.gpu import bounded, compare  # noqa: E402

# import name -> distribution: what the recipes and the benchmark need beyond the standard library
NEEDED = {"torch": "torch", "transformers": "transformers", "accelerate": "accelerate", "peft": "peft",
          "trl": "trl", "deepspeed": "deepspeed", "datasets": "datasets", "sympy": "sympy",
          "cloudpickle": "cloudpickle", "yaml": "pyyaml", "matplotlib": "matplotlib", "tqdm": "tqdm"}

# What each mode runs: the model shapes, the recipe runs' size, the benchmark's (completion length,
# timed steps, stage limit in seconds) and each other stage's limit in seconds. On the GPU the
# limits add up to more than the default budget: later stages get what is left, or are skipped.
GPU_PLAN = {"shape": "qwen2.5-0.5b", "big_shape": "qwen2.5-1.5b", "recipe_steps": 3, "recipe_length": 64,
            "eval_size": 8, "bench": [(256, 2, 120), (1024, 1, 200)], "big_bench": [(256, 1, 120)],
            "chunks": "256,all", "limits": {"install": 90, "build": 90, "recipe": 100, "big_build": 90}}
CPU_PLAN = {"shape": "tiny", "big_shape": None, "recipe_steps": 2, "recipe_length": 8, "eval_size": 2,
            "bench": [(8, 1, 600)], "big_bench": [], "chunks": "16,all",
            "limits": {"install": 90, "build": 120, "recipe": 600}}
MIN_START = 30  # a stage is not started with less than this left


class Budget:
    """Seconds left of the whole run; each stage's limit is cut to what is left."""

    def __init__(self, seconds: float):
        self.total, self.start = seconds, time.monotonic()

    def used(self) -> float:
        return time.monotonic() - self.start

    def limit(self, stage_limit: float) -> float:
        return max(0.0, min(stage_limit, self.total - self.used()))


def missing_packages() -> list[str]:
    return [dist for module, dist in NEEDED.items() if importlib.util.find_spec(module) is None]


def install(wheels: Path, timeout: float, log) -> dict:
    """Install the missing packages from ``wheels`` with no index; pip resolves them against what
    is installed, and when it cannot (a version the machine has is outside a carried package's
    range) the carried wheels of packages not installed at all go in without dependency checks."""
    missing = missing_packages()
    if not missing:
        return {"missing": [], "installed": []}
    if not wheels.is_dir():
        raise SystemExit(f"missing packages {', '.join(missing)} and no wheel folder {wheels}: run "
                         f"`bash bench/gpu/wheels.sh` on a machine with a package registry and bring .whl/ along")
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels)]
    proc = subprocess.run(pip + missing, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
    how = "resolved"
    if proc.returncode != 0:
        files = [str(w) for w in sorted(wheels.glob("*.whl")) if not _installed(w.name.split("-")[0])]
        subprocess.run(pip + ["--no-deps", *files], stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=True)
        how = "without dependency checks (pip could not resolve; see gpu_run.log)"
    still = missing_packages()
    if still:
        raise SystemExit(f"still missing after installing from {wheels}: {', '.join(still)}; add their wheels")
    return {"missing": missing, "installed": how}


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name.replace("_", "-"))
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def versions() -> dict:
    names = ["torch", "transformers", "accelerate", "trl", "deepspeed", "datasets", "peft"]
    found = {n: importlib.metadata.version(n) for n in names if _installed(n)}
    found["python"] = sys.version.split()[0]
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True) if _which("nvidia-smi") else None
    found["gpu"] = gpu.stdout.strip() if gpu and gpu.returncode == 0 else "none"
    return found


def _which(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None


def bench(shape: str, model: str, length: int, steps: int, chunks: str, work: Path, timeout: float, env, log) -> dict:
    """bench/bench_trainer.py --vs-trl for one length, its worker bounded by ``timeout``."""
    out = work / f"bench-{shape}-{length}"
    cmd = [sys.executable, str(ROOT / "bench/bench_trainer.py"), "--shape", shape, "--model", model, "--vs-trl",
           "--lengths", str(length), "--steps", str(steps), "--chunks", chunks, "--out", str(out),
           "--timeout", str(max(1, int(timeout - 30)))]
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    try:
        bounded.run(cmd, timeout, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pass
    made = out / "trainer_vs_trl.json"
    if made.is_file():
        return json.loads(made.read_text())
    # stopped before it wrote its table: the rows its worker finished, if any
    worker_rows = out / f"work-{length}" / "rows.json"
    rows = json.loads(worker_rows.read_text()) if worker_rows.is_file() else []
    note = f"length {length}: stopped at the stage's limit of {timeout:.0f} s, or failed (see gpu_run.log)"
    result = {"shape": shape, "steps": steps, "rows": rows, "notes": [note]}
    where = "bf16 on the GPU" if env.get("CUDA_VISIBLE_DEVICES") != "" else "CPU, fp32"
    out.mkdir(parents=True, exist_ok=True)
    (out / "trainer_vs_trl.md").write_text(compare.table(rows, shape, steps, result["notes"], where))
    return result


class Report:
    """What ran: stage records, recipe results and benchmark tables, rewritten after each stage."""

    def __init__(self, out: Path, budget: Budget, mode: str):
        self.out, self.budget, self.mode = out, budget, mode
        self.stages, self.recipes, self.benches, self.info = [], [], [], {}

    def stage(self, name: str, stage_limit: float, fn):
        """Run ``fn(limit)`` as stage ``name`` unless too little budget is left; its value or None."""
        limit = self.budget.limit(stage_limit)
        if limit < MIN_START:
            self.stages.append({"stage": name, "limit_s": round(limit), "seconds": 0,
                                "result": f"skipped: {limit:.0f} s of the budget left"})
            self.write()
            return None
        start = time.monotonic()
        try:
            value, result = fn(limit), "done"
        except subprocess.TimeoutExpired:
            value, result = None, f"stopped at its limit ({limit:.0f} s)"
        except (subprocess.CalledProcessError, OSError, ValueError, RuntimeError) as err:
            value, result = None, f"failed: {err}"
        self.stages.append({"stage": name, "limit_s": round(limit), "seconds": round(time.monotonic() - start, 1),
                            "result": result})
        self.write()
        return value

    def write(self) -> None:
        used = self.budget.used()
        data = {"mode": self.mode, **self.info, "budget_s": self.budget.total, "used_s": round(used, 1),
                "stages": self.stages, "recipes": self.recipes, "bench": self.benches}
        (self.out / "gpu_run.json").write_text(json.dumps(data, indent=1))
        (self.out / "gpu_run.md").write_text(self.markdown(used))

    def markdown(self, used: float) -> str:
        from bench.gpu import recipe_runs

        v = self.info.get("versions", {})
        lines = [f"# bench/gpu/run.sh{' --cpu' if self.mode == 'cpu' else ''}", "",
                 f"Device: {v.get('gpu', '?')}; python {v.get('python', '?')}, "
                 + ", ".join(f"{k} {x}" for k, x in v.items() if k not in ("gpu", "python")) + ".",
                 f"Time used: {used:.0f} s of a {self.budget.total:.0f} s budget (this command's wall time; the "
                 "machine's start and the file transfers are not in it).", "",
                 "| stage | limit (s) | took (s) | result |", "|---|---|---|---|"]
        lines += [f"| {s['stage']} | {s['limit_s']} | {s['seconds']} | {s['result']} |" for s in self.stages]
        if self.recipes:
            lines += ["", "## recipes/grpo_math.py", "", recipe_runs.table(self.recipes)]
        if self.benches:
            lines += ["", "## grpo_ext.GRPOTrainer against trl.GRPOTrainer"]
        for table in self.benches:
            lines += ["", table]
        return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="tiny shapes on CPU, fp32, gloo: the smoke run")
    parser.add_argument("--out", help="folder for gpu_run.md/json/log (default: $OUT, else bench/results/gpu)")
    parser.add_argument("--work", help="folder for models and run outputs (default: a temporary folder)")
    parser.add_argument("--budget", type=float, default=480, help="seconds the whole command may take")
    parser.add_argument("--wheels", default=str(ROOT / ".whl"), help="folder of wheels to install missing packages from")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    plan, mode = (CPU_PLAN, "cpu") if args.cpu else (GPU_PLAN, "gpu")
    out = Path(args.out or os.environ.get("OUT") or ROOT / "bench/results/gpu")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="grpo-ext-gpu-"))
    work.mkdir(parents=True, exist_ok=True)
    report, limits = Report(out, Budget(args.budget), mode), plan["limits"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if args.cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    with open(out / "gpu_run.log", "w") as log:
        installed = report.stage("install", limits["install"], lambda limit: install(Path(args.wheels), limit, log))
        if installed is None:
            raise SystemExit(f"installing the missing packages failed: see {out / 'gpu_run.log'}")
        report.info["install"] = installed
        report.info["versions"] = versions()
        cuda = not args.cpu
        if cuda and not _cuda_visible(env):
            raise SystemExit("no CUDA GPU is visible to torch: run on a GPU machine, or pass --cpu for the CPU smoke run")
        shape = plan["shape"]
        model = report.stage(f"build {shape}", limits["build"], lambda limit: _build(shape, work, limit, env, log))
        for kind in ("plain", "zero2", "zero3"):
            if model:
                report.stage(f"recipe {kind}", limits["recipe"], lambda limit: _recipe(report, kind, model, work, plan,
                                                                                    cuda, limit, env, log))
        for length, steps, stage_limit in plan["bench"]:
            if model:
                report.stage(f"bench {shape} {length}", stage_limit, lambda limit: _bench(
                    report, shape, model, length, steps, plan["chunks"], work, limit, env, log))
        big = plan["big_shape"]
        big_model = big and report.stage(f"build {big}", limits["big_build"], lambda limit: _build(big, work, limit, env,
                                                                                                   log))
        for length, steps, stage_limit in plan["big_bench"]:
            if big_model:
                report.stage(f"bench {big} {length}", stage_limit, lambda limit: _bench(
                    report, big, big_model, length, steps, plan["chunks"], work, limit, env, log))
    report.write()
    print((out / "gpu_run.md").read_text())
    failed = [s for s in report.stages if s["result"] != "done" and not s["result"].startswith("skipped")]
    failed += [r for r in report.recipes if not r["ok"]]
    return 1 if failed else 0


def _cuda_visible(env: dict) -> bool:
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                           capture_output=True, text=True, env=env)
    return probe.stdout.strip().endswith("True")


def _build(shape: str, work: Path, limit: float, env: dict, log) -> str:
    path = work / f"model-{shape}"
    cmd = [sys.executable, "-c", f"from bench.gpu import shapes; shapes.build({shape!r}, {str(path)!r})"]
    proc = bounded.run(cmd, limit, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"building {shape} failed (exit code {proc.returncode}): see gpu_run.log")
    return str(path)


def _recipe(report: Report, kind: str, model: str, work: Path, plan: dict, cuda: bool, limit: float, env, log):
    from bench.gpu import recipe_runs

    result = recipe_runs.run(kind, model, work, plan["recipe_steps"], plan["recipe_length"], plan["eval_size"], cuda,
                             limit, env, log)
    report.recipes.append(result)
    if not result["ok"]:
        raise RuntimeError(result.get("error") or f"exit code {result.get('exit_code')}")


def _bench(report: Report, shape, model, length, steps, chunks, work, limit, env, log) -> None:
    result = bench(shape, model, length, steps, chunks, work, limit, env, log)
    table = work / f"bench-{shape}-{length}" / "trainer_vs_trl.md"
    report.benches.append(table.read_text() if table.is_file() else "\n".join(result["notes"]) + "\n")
    if not result["rows"] or any("error" in r for r in result["rows"]) or result["notes"]:
        raise RuntimeError("; ".join(result["notes"]) or "a row failed (see the table)")


if __name__ == "__main__":
    sys.exit(main())
