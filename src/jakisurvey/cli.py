"""Command line: `jakisurvey run | validate | verify | synth`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from . import pipeline
from .errors import SurveyError
from .terminal import printable

SYNTH_TARGETS = pipeline.PROJECT / "data" / "synthetic" / "targets.yml"


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    main = argparse.ArgumentParser(prog="jakisurvey", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="check the inputs, execute the notebooks, render the report")
    add_inputs(run)
    run.add_argument("--study", type=Path, default=pipeline.DEFAULT_STUDY)
    run.add_argument("--out", default=str(pipeline.DEFAULT_OUT),
                     help="the report folder (made by this tool, or new; default: _output)")
    run.add_argument("--renderer", choices=["auto", "quarto", "pandoc"], default="auto")
    run.add_argument("--force", action="store_true",
                     help="ignore the cache: execute every notebook and render again")
    run.add_argument("--jobs", type=jobs_number, default=os.cpu_count() or 1,
                     help="notebooks executed in parallel (default: the number of cores)")
    run.add_argument("--quiet", action="store_true", help="print only the final line and errors")
    run.add_argument("--no-wait", action="store_true",
                     help="when another run is making this report, stop (exit 1) instead of "
                          "waiting for it")
    validate = commands.add_parser("validate", help="check a records export and list its problems")
    add_inputs(validate)
    validate.add_argument("--study", type=Path, default=pipeline.DEFAULT_STUDY)
    verify = commands.add_parser(
        "verify", help="make a shared report again from its inputs and say, file by file, "
                       "whether it is reproduced")
    verify.add_argument("folder", type=Path, help="the shared report folder")
    add_inputs(verify)
    verify.add_argument("--study", type=Path, default=pipeline.DEFAULT_STUDY)
    verify.add_argument("--keep", type=Path,
                        help="a new folder to keep the report made again in (to look at what "
                             "differs); by default it is made in a temporary folder")
    verify.add_argument("--quiet", action="store_true",
                        help="print only the files that differ and the last line")
    add_synth(commands)
    quarto = commands.add_parser("quarto", help="the steps `quarto render` runs at the project "
                                                "root (see _quarto.yml); not for direct use")
    quarto.add_argument("step", choices=["pre-render", "post-render"])
    return main


def add_inputs(command: argparse.ArgumentParser) -> None:
    """The records and dictionary options shared by run and validate."""
    command.add_argument("--records", type=Path, default=pipeline.DEFAULT_RECORDS)
    command.add_argument("--dictionary", type=Path, default=pipeline.DEFAULT_DICTIONARY)


def inputs(args: argparse.Namespace) -> pipeline.Inputs:
    """The run's input files from the arguments."""
    return pipeline.Inputs(args.records, args.dictionary, args.study)


def run(args: argparse.Namespace) -> int:
    """Build the report."""
    options = pipeline.Options(renderer=args.renderer, force=args.force, jobs=args.jobs,
                               wait=not args.no_wait)
    if args.quiet:
        options.say = lambda line: None
    out = pipeline.run(inputs(args), args.out, options)
    show(f"Report in {out}: report.html, report.pdf, report.docx, results.json")
    return 0


def show(line: str, stream=None) -> None:
    """Print a line, its control characters shown rather than obeyed (terminal.printable)."""
    print(printable(line), file=stream or sys.stdout)


def quarto(args: argparse.Namespace) -> int:
    """Quarto's pre-render or post-render step for the project being rendered."""
    project = Path(os.environ.get("QUARTO_PROJECT_DIR") or Path.cwd()).resolve()
    step = pipeline.quarto_pre_render if args.step == "pre-render" else pipeline.quarto_post_render
    step(project)
    return 0


def verify(args: argparse.Namespace) -> int:
    """Make a shared report again and compare it file by file; 0 when it is reproduced."""
    from .verify import REPRODUCED, differing, verify as remake_and_compare

    say = (lambda line: None) if args.quiet else pipeline.to_stderr
    found, verdict = remake_and_compare(args.folder, inputs(args), say, args.keep)
    for name, status in found:
        if not (args.quiet and status == REPRODUCED):
            print(f"{name}: {status}")
    print(verdict)
    return 1 if differing(found) else 0


def validate(args: argparse.Namespace) -> int:
    """Check a records export (the run's pre-flight: every input and every claim, no kernel);
    0 when it can be analysed (warnings printed), 1 otherwise."""
    checked = pipeline.check_inputs(inputs(args))
    survey = checked.survey
    for line in listed(survey.problems):
        show(line)
    show(f"{args.records}: valid ({len(survey.data)} records, {len(survey.respondents)} "
          f"respondents, {len(survey.problems)} warnings)")
    return 0


LISTED_PER_RULE = 20  # warnings of one kind printed one by one; the rest are counted


def listed(problems: list) -> list[str]:
    """One line per warning, at most LISTED_PER_RULE of each kind, then how many more."""
    lines, seen = [], {}
    for problem in problems:
        seen[problem.rule] = seen.get(problem.rule, 0) + 1
        if seen[problem.rule] <= LISTED_PER_RULE:
            lines.append(problem.message())
    lines += [f"... and {n - LISTED_PER_RULE} more: {rule}" for rule, n in seen.items()
              if n > LISTED_PER_RULE]
    return lines


def jobs_number(text: str) -> int:
    """--jobs: at least one kernel."""
    return whole_number(text, 1, 64)


def add_synth(commands: argparse._SubParsersAction) -> None:
    """The synth command and its options."""
    synth = commands.add_parser("synth", help="write a synthetic records export")
    synth.add_argument("--n", type=respondents_number, default=229, help="number of respondents")
    synth.add_argument("--seed", type=seed_number, required=True,
                       help="random seed, a whole number of at least 0")
    synth.add_argument("--out", type=file_path, required=True, help="the CSV file to write")
    synth.add_argument("--force", action="store_true", help="replace --out if it exists")
    synth.add_argument("--dictionary", type=Path, default=pipeline.DEFAULT_DICTIONARY)
    synth.add_argument("--targets", type=Path, default=SYNTH_TARGETS)


def whole_number(text: str, minimum: int, maximum: int | None = None) -> int:
    """A whole number in range, or an argparse usage error saying what is allowed."""
    allowed = f"from {minimum:,} to {maximum:,}" if maximum else f"of at least {minimum:,}"
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        raise argparse.ArgumentTypeError(f"must be a whole number {allowed} (got '{text}')")
    return value


def seed_number(text: str) -> int:
    """--seed: numpy's seeds are whole numbers of at least 0."""
    return whole_number(text, 0)


def respondents_number(text: str) -> int:
    """--n: as many respondents as the generator can make."""
    from .synth import MAX_N, MIN_N

    return whole_number(text, MIN_N, MAX_N)


def file_path(text: str) -> Path:
    """A non-empty path (an unset shell variable gives '')."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a file (got an empty path)")
    return Path(text)


def synth(args: argparse.Namespace) -> int:
    """Write a synthetic export (refusing to replace a file unless --force)."""
    from .synth import write_synthetic

    write_synthetic(args.n, args.seed, args.out, args.dictionary, args.targets, force=args.force)
    show(f"Synthetic records written to {args.out}")
    return 0


class Terminated(BaseException):
    """SIGTERM: stop and clean up as an interrupt does."""


def terminate(signum: int, frame: object) -> None:
    """Turn SIGTERM into an exception, so the run removes what it was building."""
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors the user can act on are printed without a traceback, exit 1."""
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    try:
        return {"run": run, "validate": validate, "synth": synth, "verify": verify,
                "quarto": quarto}[args.command](args)
    except SurveyError as error:
        if hasattr(error, "problems"):   # load.InputError: the problems of the records
            show(str(error), sys.stderr)
            show(f"{len(error.problems)} problem(s): nothing was analysed.", sys.stderr)
        else:
            show(f"error: {error}", sys.stderr)
        return 1
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        show(f"error: {error.strerror or error}{where}; nothing was changed", sys.stderr)
        return 1
    except KeyboardInterrupt:
        show("interrupted; nothing was changed", sys.stderr)
        return 130
    except Terminated:
        show("terminated; nothing was changed", sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())
