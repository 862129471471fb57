"""Command line: `jakisurvey run | validate | synth`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import pipeline
from .errors import SurveyError
from .load import InputError

SYNTH_TARGETS = pipeline.PROJECT / "data" / "synthetic" / "targets.yml"


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    main = argparse.ArgumentParser(prog="jakisurvey", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="check the inputs, execute the notebooks, render the report")
    add_inputs(run)
    run.add_argument("--study", type=Path, default=pipeline.DEFAULT_STUDY)
    run.add_argument("--out", type=Path, default=pipeline.DEFAULT_OUT)
    run.add_argument("--renderer", choices=["auto", "quarto", "pandoc"], default="auto")
    validate = commands.add_parser("validate", help="check a records export and list its problems")
    add_inputs(validate)
    validate.add_argument("--study", type=Path, default=pipeline.DEFAULT_STUDY)
    synth = commands.add_parser("synth", help="write a synthetic records export")
    synth.add_argument("--n", type=int, default=229, help="number of respondents")
    synth.add_argument("--seed", type=int, required=True)
    synth.add_argument("--out", type=Path, required=True)
    synth.add_argument("--dictionary", type=Path, default=pipeline.DEFAULT_DICTIONARY)
    synth.add_argument("--targets", type=Path, default=SYNTH_TARGETS)
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
    out = pipeline.run(inputs(args), args.out, args.renderer)
    print(f"Report written to {out}: report.html, report.pdf, results.json")
    return 0


def validate(args: argparse.Namespace) -> int:
    """Check a records export; 0 when it can be analysed (warnings printed), 1 otherwise."""
    *_, survey = pipeline.check_inputs(inputs(args))
    for problem in survey.problems:
        print(problem.message())
    print(f"{args.records}: valid ({len(survey.data)} records, {len(survey.respondents)} "
          f"respondents, {len(survey.problems)} warnings)")
    return 0


def synth(args: argparse.Namespace) -> int:
    """Write a synthetic export."""
    from .synth import write_synthetic

    write_synthetic(args.n, args.seed, args.out, args.dictionary, args.targets)
    print(f"Synthetic records written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors the user can act on are printed without a traceback, exit 1."""
    args = parser().parse_args(argv)
    try:
        return {"run": run, "validate": validate, "synth": synth}[args.command](args)
    except InputError as error:
        print(error, file=sys.stderr)
        print(f"{len(error.problems)} problem(s): nothing was analysed.", file=sys.stderr)
        return 1
    except SurveyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
